// Module compilation and in-bundle resolution for snapshot builds.
#include "worker/js/module_graph.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "worker/js/internal.h"

namespace kiln::worker::js::internal {
namespace {

thread_local ModuleGraph* current_graph = nullptr;

std::string Extension(const std::string& path) {
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return path.substr(dot);
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string ResolutionKey(int referrer, const std::string& specifier) {
  return absl::StrCat(referrer, "\n", specifier);
}

}  // namespace

ModuleGraph::ModuleGraph(v8::Isolate* isolate, const Bundle& bundle)
    : isolate_(isolate), bundle_(bundle) {
  current_graph = this;
}

ModuleGraph::~ModuleGraph() {
  for (Entry& entry : entries_) entry.module.Reset();
  if (current_graph == this) current_graph = nullptr;
}

ModuleGraph* ModuleGraph::Current() { return current_graph; }

absl::StatusOr<v8::Local<v8::Module>> ModuleGraph::LoadAndLink(v8::Local<v8::Context> context) {
  if (bundle_.files.find(bundle_.main_module) == bundle_.files.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("main module '", bundle_.main_module, "' is not in the bundle"));
  }
  absl::StatusOr<int> main = Compile(context, bundle_.main_module);
  if (!main.ok()) return main.status();
  // Breadth-first over import requests: every reachable module is compiled and
  // every specifier resolved before linking, so errors name their import.
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].kind != Kind::kEsm) continue;
    v8::Local<v8::Module> module = entries_[i].module.Get(isolate_);
    v8::Local<v8::FixedArray> requests = module->GetModuleRequests();
    for (int r = 0; r < requests->Length(); ++r) {
      v8::Local<v8::ModuleRequest> request = requests->Get(context, r).As<v8::ModuleRequest>();
      std::string specifier = ToUtf8(isolate_, request->GetSpecifier());
      absl::StatusOr<std::string> path =
          Resolve(specifier, entries_[i], context, request->GetSourceOffset());
      if (!path.ok()) return path.status();
      absl::StatusOr<int> target = Compile(context, *path);
      if (!target.ok()) return target.status();
      resolved_[ResolutionKey(static_cast<int>(i), specifier)] = *target;
    }
  }
  v8::Local<v8::Module> root = entries_[*main].module.Get(isolate_);
  v8::TryCatch try_catch(isolate_);
  if (root->InstantiateModule(context, ResolveCallback).IsNothing()) {
    return absl::InvalidArgumentError(DescribeException(isolate_, context, try_catch));
  }
  return root;
}

absl::StatusOr<int> ModuleGraph::Compile(v8::Local<v8::Context> context, const std::string& path) {
  auto known = by_path_.find(path);
  if (known != by_path_.end()) return known->second;
  const std::string& content = bundle_.files.at(path);
  const std::string ext = Extension(path);
  Kind kind;
  if (ext == ".js" || ext == ".mjs") {
    kind = Kind::kEsm;
  } else if (ext == ".json") {
    kind = Kind::kJson;
  } else if (ext == ".txt" || ext == ".html" || ext == ".htm" || ext == ".css" || ext == ".md" ||
             ext == ".svg" || ext == ".csv" || ext == ".xml") {
    kind = Kind::kText;
  } else if (ext == ".bin" || ext == ".wasm") {
    kind = Kind::kData;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": cannot import a '", ext, "' file (modules: .js .mjs; JSON: .json; text: .txt "
        ".html .htm .css .md .svg .csv .xml; bytes: .bin .wasm)"));
  }

  v8::Local<v8::Module> module;
  v8::TryCatch try_catch(isolate_);
  if (kind == Kind::kEsm) {
    v8::ScriptOrigin origin(isolate_, Str(isolate_, path), 0, 0, false, -1, v8::Local<v8::Value>(),
                            false, false, /*is_module=*/true);
    v8::ScriptCompiler::Source source(Str(isolate_, content), origin);
    if (!v8::ScriptCompiler::CompileModule(isolate_, &source).ToLocal(&module)) {
      return absl::InvalidArgumentError(DescribeException(isolate_, context, try_catch));
    }
  } else {
    if (kind == Kind::kJson && v8::JSON::Parse(context, Str(isolate_, content)).IsEmpty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", ToUtf8(isolate_, try_catch.Exception())));
    }
    std::vector<v8::Local<v8::String>> exports = {Str(isolate_, "default")};
    module = v8::Module::CreateSyntheticModule(isolate_, Str(isolate_, path), exports,
                                               SyntheticModuleSteps);
  }
  int index = static_cast<int>(entries_.size());
  entries_.push_back(Entry{path, kind, v8::Global<v8::Module>(isolate_, module)});
  by_path_[path] = index;
  by_identity_hash_.emplace(module->GetIdentityHash(), index);
  return index;
}

absl::StatusOr<std::string> ModuleGraph::Resolve(const std::string& specifier,
                                                 const Entry& referrer,
                                                 v8::Local<v8::Context> context,
                                                 int source_offset) const {
  v8::Location location = referrer.module.Get(isolate_)->SourceOffsetToLocation(source_offset);
  const std::string where = absl::StrCat(referrer.path, ":", location.GetLineNumber() + 1, ":",
                                         location.GetColumnNumber() + 1);
  if (!absl::StartsWith(specifier, "./") && !absl::StartsWith(specifier, "../")) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": import '", specifier,
        "' leaves the bundle: only relative imports of bundle files ('./file.js') are allowed"));
  }
  std::vector<std::string> parts;
  std::string dir = Dirname(referrer.path);
  if (!dir.empty()) parts = absl::StrSplit(dir, '/');
  for (absl::string_view piece : absl::StrSplit(specifier, '/')) {
    if (piece == "." || piece.empty()) continue;
    if (piece == "..") {
      if (parts.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": import '", specifier, "' leaves the bundle"));
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(piece);
  }
  std::string path = absl::StrJoin(parts, "/");
  for (const char* suffix : {"", ".js", ".mjs"}) {
    std::string candidate = path + suffix;
    if (bundle_.files.count(candidate) > 0) return candidate;
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ": import '", specifier,
                                                 "' names no file in the bundle (looked for '",
                                                 path, "')"));
}

const ModuleGraph::Entry* ModuleGraph::Find(v8::Local<v8::Module> module) const {
  auto range = by_identity_hash_.equal_range(module->GetIdentityHash());
  for (auto it = range.first; it != range.second; ++it) {
    if (entries_[it->second].module == module) return &entries_[it->second];
  }
  return nullptr;
}

bool ModuleGraph::SyntheticContent(v8::Local<v8::Module> module, std::string* path,
                                   std::string* content, bool* is_json, bool* is_text) const {
  const Entry* entry = Find(module);
  if (entry == nullptr || entry->kind == Kind::kEsm) return false;
  *path = entry->path;
  *content = bundle_.files.at(entry->path);
  *is_json = entry->kind == Kind::kJson;
  *is_text = entry->kind == Kind::kText;
  return true;
}

v8::MaybeLocal<v8::Module> ModuleGraph::ResolveCallback(v8::Local<v8::Context> context,
                                                        v8::Local<v8::String> specifier,
                                                        v8::Local<v8::FixedArray> assertions,
                                                        v8::Local<v8::Module> referrer) {
  ModuleGraph* graph = current_graph;
  v8::Isolate* isolate = context->GetIsolate();
  const Entry* from = graph == nullptr ? nullptr : graph->Find(referrer);
  if (from != nullptr) {
    int referrer_index = static_cast<int>(from - graph->entries_.data());
    auto it = graph->resolved_.find(ResolutionKey(referrer_index, ToUtf8(isolate, specifier)));
    if (it != graph->resolved_.end()) return graph->entries_[it->second].module.Get(isolate);
  }
  isolate->ThrowException(v8::Exception::Error(Str(isolate, "module resolution failed")));
  return {};
}

v8::MaybeLocal<v8::Value> SyntheticModuleSteps(v8::Local<v8::Context> context,
                                               v8::Local<v8::Module> module) {
  v8::Isolate* isolate = context->GetIsolate();
  ModuleGraph* graph = ModuleGraph::Current();
  std::string path, content;
  bool is_json = false, is_text = false;
  if (graph == nullptr || !graph->SyntheticContent(module, &path, &content, &is_json, &is_text)) {
    isolate->ThrowException(v8::Exception::Error(Str(isolate, "unknown synthetic module")));
    return {};
  }
  v8::Local<v8::Value> value;
  if (is_json) {
    if (!v8::JSON::Parse(context, Str(isolate, content)).ToLocal(&value)) return {};
  } else if (is_text) {
    value = Str(isolate, content);
  } else {
    v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, content.size());
    if (!content.empty()) memcpy(buffer->Data(), content.data(), content.size());
    value = buffer;
  }
  if (module->SetSyntheticModuleExport(isolate, Str(isolate, "default"), value).IsNothing()) {
    return {};
  }
  return v8::Undefined(isolate);
}

}  // namespace kiln::worker::js::internal
