// Compiles a bundle's ES modules (plus JSON, text and data modules) for the
// snapshot build: resolves relative imports inside the bundle and refuses any
// import that leaves it. Used only while building a snapshot.
#pragma once

#include <v8.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/js/types.h"

namespace kiln::worker::js::internal {

// One instance per build, on the build thread. Holds the compiled modules alive
// until destroyed; destroy it before serializing.
class ModuleGraph {
 public:
  ModuleGraph(v8::Isolate* isolate, const Bundle& bundle);
  ~ModuleGraph();
  ModuleGraph(const ModuleGraph&) = delete;
  ModuleGraph& operator=(const ModuleGraph&) = delete;

  // Compiles the entry module and everything it imports, then links them.
  // InvalidArgument, naming file:line:column, for a syntax error, a bad JSON
  // file, an unsupported file type or an import that is not a bundle file.
  absl::StatusOr<v8::Local<v8::Module>> LoadAndLink(v8::Local<v8::Context> context);

  // The content of a synthetic (JSON, text, data) module compiled here.
  bool SyntheticContent(v8::Local<v8::Module> module, std::string* path, std::string* content,
                        bool* is_json, bool* is_text) const;

  // The graph being linked or evaluated on this thread, if any.
  static ModuleGraph* Current();

 private:
  enum class Kind { kEsm, kJson, kText, kData };
  struct Entry {
    std::string path;
    Kind kind;
    v8::Global<v8::Module> module;
  };

  absl::StatusOr<int> Compile(v8::Local<v8::Context> context, const std::string& path);
  absl::StatusOr<std::string> Resolve(const std::string& specifier, const Entry& referrer,
                                      v8::Local<v8::Context> context, int source_offset) const;
  const Entry* Find(v8::Local<v8::Module> module) const;
  static v8::MaybeLocal<v8::Module> ResolveCallback(v8::Local<v8::Context> context,
                                                    v8::Local<v8::String> specifier,
                                                    v8::Local<v8::FixedArray> assertions,
                                                    v8::Local<v8::Module> referrer);

  v8::Isolate* isolate_;
  const Bundle& bundle_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, int> by_path_;
  std::unordered_multimap<int, int> by_identity_hash_;
  // Resolution results computed while compiling: (referrer index, specifier) -> target index.
  std::unordered_map<std::string, int> resolved_;
};

}  // namespace kiln::worker::js::internal
