// The deploy-time build step: evaluates a bundle's top level on top of the Kiln
// runtime inside a V8 SnapshotCreator and serializes the result, so isolates of
// that function boot with everything already evaluated. Also the blob format:
// a header carrying the runtime fingerprint and a CRC-32, then V8's startup blob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "worker/js/native.h"
#include "worker/js/types.h"

namespace kiln::worker::js {

// A validated snapshot blob, immutable and shared by every isolate booted from
// it (V8 reads the blob while booting each isolate).
class Snapshot {
 public:
  // Checks the header and the checksum; FailedPrecondition when the blob was
  // built for another runtime fingerprint (never loaded), InvalidArgument when
  // it is malformed, DataLoss when its bytes were damaged.
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Parse(std::string blob,
                                                               absl::string_view fingerprint);

  // The whole serialized form (header + V8 blob), as stored and shipped.
  const std::string& blob() const { return blob_; }
  const std::string& fingerprint() const { return fingerprint_; }
  // V8's part of the blob.
  const char* v8_data() const { return blob_.data() + v8_offset_; }
  int v8_size() const { return static_cast<int>(blob_.size() - v8_offset_); }
  // Whether V8 rehashes isolates booted from this blob with a fresh hash seed.
  bool rehashable() const { return rehashable_; }

 private:
  Snapshot() = default;
  std::string blob_;
  std::string fingerprint_;
  size_t v8_offset_ = 0;
  bool rehashable_ = false;
};

struct BuildOptions {
  // Wall-clock budget for evaluating the top level; exceeding it fails the
  // build (an infinite loop at global scope).
  absl::Duration time_limit = absl::Seconds(10);
  // Heap budget while evaluating the top level.
  size_t heap_limit_bytes = 256u << 20;
  // The function's code-generation policy applies at global scope too.
  bool allow_eval = false;
  bool allow_wasm_codegen = false;
};

struct BuildResult {
  std::string blob;               // Snapshot::blob() form
  std::vector<std::string> logs;  // console output of the top level
};

// Builds the snapshot of `bundle` on the runtime `spec`. Runs on the calling
// thread and blocks. InvalidArgument with "file:line:column: message" for a
// syntax error, a top-level throw or an import outside the bundle;
// DeadlineExceeded / ResourceExhausted when the top level breaks its budget.
//
// FailedPrecondition while any JsIsolate exists in this process: with Debian's
// V8 10.2, building beside live isolates corrupted the process (a later boot
// crashed in SharedHeapDeserializer::DeserializeStringTable), so builds run in
// a process of their own (worker/runtime/builder.h).
absl::StatusOr<BuildResult> BuildSnapshot(const Bundle& bundle, const RuntimeSpec& spec,
                                          const BuildOptions& options = {});

}  // namespace kiln::worker::js
