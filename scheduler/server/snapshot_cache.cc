// SnapshotCache: a list in recency order plus an index.
#include "scheduler/server/snapshot_cache.h"

#include "absl/strings/str_cat.h"

namespace kiln::scheduler {

std::string SnapshotCache::Key(absl::string_view sha, absl::string_view fingerprint) {
  return absl::StrCat(sha, "/", fingerprint);
}

std::shared_ptr<const std::string> SnapshotCache::Get(absl::string_view bundle_sha256,
                                                      absl::string_view fingerprint) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(Key(bundle_sha256, fingerprint));
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->blob;
}

void SnapshotCache::Put(absl::string_view bundle_sha256, absl::string_view fingerprint,
                        std::string blob) {
  if (blob.size() > capacity_bytes_) return;
  std::string key = Key(bundle_sha256, fingerprint);
  absl::MutexLock lock(&mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->blob->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  bytes_ += blob.size();
  lru_.push_front({key, std::make_shared<const std::string>(std::move(blob))});
  index_[key] = lru_.begin();
  while (bytes_ > capacity_bytes_) {
    bytes_ -= lru_.back().blob->size();
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

size_t SnapshotCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace kiln::scheduler
