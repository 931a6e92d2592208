// Warm isolates, kept per function version. An isolate belongs to exactly one
// version of one tenant's function and is reused only for that version's
// invocations (module-scope state persists between them, as on Workers).
// Idle isolates are evicted least-recently-used first when the worker passes
// its memory budget; one spare per busy version is booted in the background
// so a burst does not pay boot time serially.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/js/js_isolate.h"
#include "worker/js/native.h"
#include "worker/js/snapshot.h"
#include "worker/runtime/limits.h"

namespace kiln::worker {

// Names one immutable version of one tenant's function.
struct FunctionKey {
  std::string tenant;
  std::string function;
  uint64_t version = 0;

  std::string ToString() const;
  bool operator==(const FunctionKey& other) const {
    return version == other.version && tenant == other.tenant && function == other.function;
  }
};

// What a function version's isolates boot and run with, besides its code.
struct FunctionSettings {
  Limits limits;
  std::string env_json = "{}";      // vars and secrets, a JSON object
  bool allow_eval = false;          // eval / new Function
  bool allow_wasm_codegen = false;  // WebAssembly compiled from bytes
};

// A loaded function version: its snapshot and settings.
struct LoadedFunction {
  FunctionKey key;
  std::shared_ptr<const js::Snapshot> snapshot;
  FunctionSettings settings;
};

struct PoolStats {
  struct Version {
    FunctionKey key;
    int idle = 0;
    int busy = 0;
  };
  std::vector<Version> versions;
  size_t memory_bytes = 0;  // isolates' heap + ArrayBuffers, as last measured
  int isolates = 0;
  uint64_t boots = 0;
  uint64_t evictions = 0;
};

class IsolatePool {
 public:
  // An isolate taken for one invocation; give it back with Release().
  struct Lease {
    std::unique_ptr<js::JsIsolate> isolate;
    std::shared_ptr<const LoadedFunction> function;
    bool cold = false;  // booted for this invocation
  };

  // `memory_budget_bytes`: above it, idle isolates are disposed LRU-first.
  IsolatePool(const js::RuntimeSpec& spec, size_t memory_budget_bytes);
  ~IsolatePool();
  IsolatePool(const IsolatePool&) = delete;
  IsolatePool& operator=(const IsolatePool&) = delete;

  // Makes a version invocable. Replaces an earlier load of the same key
  // (its idle isolates are dropped).
  void Load(std::shared_ptr<const LoadedFunction> function);
  // Forgets a version and disposes its idle isolates. Busy ones are disposed
  // when released.
  void Unload(const FunctionKey& key);
  bool IsLoaded(const FunctionKey& key);

  // A warm isolate of `key` if one is idle, else one booted now on the calling
  // thread (cold). NotFound when the version is not loaded; the boot's error
  // otherwise.
  absl::StatusOr<Lease> Acquire(const FunctionKey& key);
  // Returns an isolate (not locked: see JsIsolate::Lock). A condemned one, or
  // one of an unloaded version, is disposed; others become idle (most
  // recently used), counted at JsIsolate::RecentMemory().
  void Release(Lease lease);

  PoolStats Stats();

 private:
  struct IdleEntry;
  using IdleList = std::list<IdleEntry>;  // global LRU order, front: most recent
  struct IdleEntry {
    std::string key;
    std::unique_ptr<js::JsIsolate> isolate;
    std::list<IdleList::iterator>::iterator in_version;
  };
  struct Version {
    std::shared_ptr<const LoadedFunction> function;
    std::list<IdleList::iterator> idle;  // front: most recently used
    int busy = 0;
    bool spare_booting = false;
  };

  void AddIdleLocked(const std::string& key, Version& version, std::unique_ptr<js::JsIsolate> isolate,
                     bool most_recent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnforceBudgetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DisposeLater(std::unique_ptr<js::JsIsolate> isolate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleSpareLocked(const std::string& key, Version& version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BackgroundMain();
  absl::StatusOr<std::unique_ptr<js::JsIsolate>> Boot(const LoadedFunction& function);

  const js::RuntimeSpec& spec_;
  const size_t memory_budget_bytes_;
  absl::Mutex mu_;
  std::unordered_map<std::string, Version> versions_ ABSL_GUARDED_BY(mu_);
  IdleList lru_ ABSL_GUARDED_BY(mu_);
  size_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<js::JsIsolate*, size_t> measured_ ABSL_GUARDED_BY(mu_);
  uint64_t boots_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
  // Background work: spares to boot, isolates to dispose.
  std::vector<std::string> spares_to_boot_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<js::JsIsolate>> to_dispose_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar background_wake_;
  std::thread background_;
};

}  // namespace kiln::worker
