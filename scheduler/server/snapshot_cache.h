// SnapshotCache: V8 snapshot blobs in memory, keyed by (bundle sha256,
// runtime fingerprint), so loading a version onto another worker does not
// read the store again. Filled by deploys (the blob just built) and by the
// cold path (a blob read from the store); least recently used blobs are
// dropped beyond a byte budget.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace kiln::scheduler {

// Thread-safe.
class SnapshotCache {
 public:
  explicit SnapshotCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // The blob, or null.
  std::shared_ptr<const std::string> Get(absl::string_view bundle_sha256,
                                         absl::string_view fingerprint);
  // Adds (or refreshes) a blob; one larger than the whole budget is not kept.
  void Put(absl::string_view bundle_sha256, absl::string_view fingerprint, std::string blob);

  size_t bytes() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const std::string> blob;
  };
  static std::string Key(absl::string_view sha, absl::string_view fingerprint);

  const size_t capacity_bytes_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // front: most recent
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kiln::scheduler
