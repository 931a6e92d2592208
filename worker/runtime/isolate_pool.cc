// The isolate pool: per-version idle lists, global LRU, memory budget,
// background spare boots and disposal.
#include "worker/runtime/isolate_pool.h"

#include "absl/strings/str_cat.h"

namespace kiln::worker {

std::string FunctionKey::ToString() const { return absl::StrCat(tenant, "/", function, "@", version); }

IsolatePool::IsolatePool(const js::RuntimeSpec& spec, size_t memory_budget_bytes)
    : spec_(spec), memory_budget_bytes_(memory_budget_bytes), background_([this] { BackgroundMain(); }) {}

IsolatePool::~IsolatePool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    background_wake_.Signal();
  }
  background_.join();
  std::vector<std::unique_ptr<js::JsIsolate>> dispose;
  {
    absl::MutexLock lock(&mu_);
    for (IdleEntry& entry : lru_) dispose.push_back(std::move(entry.isolate));
    for (auto& isolate : to_dispose_) dispose.push_back(std::move(isolate));
    lru_.clear();
    versions_.clear();
    to_dispose_.clear();
  }
  dispose.clear();  // outside the lock
}

absl::StatusOr<std::unique_ptr<js::JsIsolate>> IsolatePool::Boot(const LoadedFunction& function) {
  js::IsolateOptions options;
  options.heap_limit_bytes = function.settings.limits.heap_bytes;
  options.response_limit_bytes = function.settings.limits.response_bytes;
  options.env_json = function.settings.env_json;
  options.allow_eval = function.settings.allow_eval;
  options.allow_wasm_codegen = function.settings.allow_wasm_codegen;
  return js::JsIsolate::Boot(function.snapshot, spec_, options);
}

void IsolatePool::Load(std::shared_ptr<const LoadedFunction> function) {
  absl::MutexLock lock(&mu_);
  const std::string key = function->key.ToString();
  Version& version = versions_[key];
  for (auto it : version.idle) {
    memory_bytes_ -= measured_[it->isolate.get()];
    measured_.erase(it->isolate.get());
    DisposeLater(std::move(it->isolate));
    lru_.erase(it);
  }
  version.idle.clear();
  version.function = std::move(function);
  ScheduleSpareLocked(key, version);  // so the first invocation is likely warm
}

void IsolatePool::Unload(const FunctionKey& key) {
  absl::MutexLock lock(&mu_);
  auto found = versions_.find(key.ToString());
  if (found == versions_.end()) return;
  for (auto it : found->second.idle) {
    memory_bytes_ -= measured_[it->isolate.get()];
    measured_.erase(it->isolate.get());
    DisposeLater(std::move(it->isolate));
    lru_.erase(it);
  }
  versions_.erase(found);
}

bool IsolatePool::IsLoaded(const FunctionKey& key) {
  absl::MutexLock lock(&mu_);
  return versions_.count(key.ToString()) > 0;
}

absl::StatusOr<IsolatePool::Lease> IsolatePool::Acquire(const FunctionKey& key) {
  const std::string name = key.ToString();
  Lease lease;
  {
    absl::MutexLock lock(&mu_);
    auto found = versions_.find(name);
    if (found == versions_.end()) {
      return absl::NotFoundError(absl::StrCat("function version ", name, " is not loaded here"));
    }
    Version& version = found->second;
    lease.function = version.function;
    version.busy++;
    if (!version.idle.empty()) {
      IdleList::iterator entry = version.idle.front();
      version.idle.pop_front();
      lease.isolate = std::move(entry->isolate);
      lru_.erase(entry);
      if (version.idle.empty()) ScheduleSpareLocked(name, version);
      return lease;
    }
    ScheduleSpareLocked(name, version);
  }
  // Cold: boot here, outside the lock.
  absl::StatusOr<std::unique_ptr<js::JsIsolate>> booted = Boot(*lease.function);
  absl::MutexLock lock(&mu_);
  if (!booted.ok()) {
    auto found = versions_.find(name);
    if (found != versions_.end()) found->second.busy--;
    return booted.status();
  }
  boots_++;
  lease.isolate = std::move(*booted);
  lease.cold = true;
  return lease;
}

void IsolatePool::Release(Lease lease) {
  const std::string name = lease.function->key.ToString();
  size_t bytes = lease.isolate->condemned() ? 0 : lease.isolate->RecentMemory();
  absl::MutexLock lock(&mu_);
  auto counted = measured_.find(lease.isolate.get());
  if (counted != measured_.end()) memory_bytes_ -= counted->second;
  auto found = versions_.find(name);
  // Unloaded, reloaded (another snapshot) or condemned: never reuse.
  if (found == versions_.end() || found->second.function != lease.function ||
      lease.isolate->condemned()) {
    if (counted != measured_.end()) measured_.erase(counted);
    if (found != versions_.end()) found->second.busy--;
    DisposeLater(std::move(lease.isolate));
    return;
  }
  Version& version = found->second;
  version.busy--;
  if (counted != measured_.end()) {
    counted->second = bytes;
  } else {
    measured_[lease.isolate.get()] = bytes;
  }
  memory_bytes_ += bytes;
  AddIdleLocked(name, version, std::move(lease.isolate), /*most_recent=*/true);
  EnforceBudgetLocked();
}

void IsolatePool::AddIdleLocked(const std::string& key, Version& version,
                                std::unique_ptr<js::JsIsolate> isolate, bool most_recent) {
  if (most_recent) {
    lru_.push_front(IdleEntry{key, std::move(isolate), {}});
    version.idle.push_front(lru_.begin());
    lru_.begin()->in_version = version.idle.begin();
  } else {
    lru_.push_back(IdleEntry{key, std::move(isolate), {}});
    version.idle.push_back(std::prev(lru_.end()));
    lru_.back().in_version = std::prev(version.idle.end());
  }
}

void IsolatePool::EnforceBudgetLocked() {
  while (memory_bytes_ > memory_budget_bytes_ && !lru_.empty()) {
    IdleEntry& oldest = lru_.back();
    Version& version = versions_[oldest.key];
    version.idle.erase(oldest.in_version);
    memory_bytes_ -= measured_[oldest.isolate.get()];
    measured_.erase(oldest.isolate.get());
    DisposeLater(std::move(oldest.isolate));
    lru_.pop_back();
    evictions_++;
  }
}

void IsolatePool::DisposeLater(std::unique_ptr<js::JsIsolate> isolate) {
  if (isolate == nullptr) return;
  to_dispose_.push_back(std::move(isolate));
  background_wake_.Signal();
}

void IsolatePool::ScheduleSpareLocked(const std::string& key, Version& version) {
  if (version.spare_booting) return;
  version.spare_booting = true;
  spares_to_boot_.push_back(key);
  background_wake_.Signal();
}

void IsolatePool::BackgroundMain() {
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && spares_to_boot_.empty() && to_dispose_.empty()) background_wake_.Wait(&mu_);
    if (stopping_) return;
    if (!to_dispose_.empty()) {
      std::vector<std::unique_ptr<js::JsIsolate>> dispose;
      dispose.swap(to_dispose_);
      mu_.Unlock();
      dispose.clear();  // Isolate::Dispose, outside the lock
      mu_.Lock();
      continue;
    }
    std::string key = spares_to_boot_.back();
    spares_to_boot_.pop_back();
    auto found = versions_.find(key);
    if (found == versions_.end()) continue;
    std::shared_ptr<const LoadedFunction> function = found->second.function;
    mu_.Unlock();
    absl::StatusOr<std::unique_ptr<js::JsIsolate>> booted = Boot(*function);
    size_t bytes = booted.ok() ? (*booted)->MeasureMemory() : 0;
    mu_.Lock();
    found = versions_.find(key);
    if (found == versions_.end()) {
      if (booted.ok()) DisposeLater(std::move(*booted));
      continue;
    }
    found->second.spare_booting = false;
    if (!booted.ok() || found->second.function != function) {
      if (booted.ok()) DisposeLater(std::move(*booted));
      continue;
    }
    boots_++;
    measured_[booted->get()] = bytes;
    memory_bytes_ += bytes;
    // A spare goes to the back: isolates that already served are preferred,
    // so module state stays where it was.
    AddIdleLocked(key, found->second, std::move(*booted), /*most_recent=*/false);
    EnforceBudgetLocked();
  }
}

PoolStats IsolatePool::Stats() {
  absl::MutexLock lock(&mu_);
  PoolStats stats;
  for (const auto& [name, version] : versions_) {
    if (version.function == nullptr) continue;
    stats.versions.push_back({version.function->key, static_cast<int>(version.idle.size()), version.busy});
  }
  stats.memory_bytes = memory_bytes_;
  stats.isolates = static_cast<int>(measured_.size());
  stats.boots = boots_;
  stats.evictions = evictions_;
  return stats;
}

}  // namespace kiln::worker
