// WorkerRuntime: everything a kiln-worker does with JavaScript, behind one
// facade the server wires to its gRPC stream. Builds snapshots (deploy),
// loads function versions (snapshot + limits + env), and runs invocations on
// a fixed set of executor threads under a shared CPU/wall watchdog.
//
//   WorkerRuntime runtime(api::KilnRuntime(), {});
//   auto built = runtime.Build(bundle);                    // deploy time
//   runtime.Load(key, built->blob, {.limits = limits});     // once per worker
//   runtime.Invoke(key, HttpRequest{...}, "req-1", [](InvocationOutcome o) {...});
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "worker/js/native.h"
#include "worker/js/snapshot.h"
#include "worker/runtime/builder.h"
#include "worker/runtime/executor.h"
#include "worker/runtime/invocation.h"
#include "worker/runtime/isolate_pool.h"
#include "worker/runtime/limits.h"
#include "worker/runtime/watchdog.h"

namespace kiln::worker {

struct RuntimeOptions {
  int executors = 2;                          // threads running JavaScript
  size_t memory_budget_bytes = 1024u << 20;   // idle isolates beyond it are evicted
  LogSink* logs = nullptr;                    // console output; may be null
  uint64_t hash_seed = 0;                     // see js::InitializeV8; 0: random
  // Where Build() runs; not owned. Null: in this process, which works only
  // while it has no isolates (see builder.h).
  SnapshotBuilder* builder = nullptr;
};

class WorkerRuntime {
 public:
  WorkerRuntime(const js::RuntimeSpec& spec, RuntimeOptions options);
  // Ends in-flight invocations (their callbacks get kUnavailable), then stops
  // the executors and disposes every isolate.
  ~WorkerRuntime();
  WorkerRuntime(const WorkerRuntime&) = delete;
  WorkerRuntime& operator=(const WorkerRuntime&) = delete;

  // The fingerprint every snapshot this worker loads must carry.
  const std::string& fingerprint() const { return fingerprint_; }

  // Deploy-time build step on the configured builder; blocks the calling
  // thread (see js::BuildSnapshot for the statuses).
  absl::StatusOr<js::BuildResult> Build(const Bundle& bundle, const js::BuildOptions& options = {});

  // Makes a version invocable here. FailedPrecondition for a snapshot of
  // another runtime fingerprint, InvalidArgument for a malformed one.
  absl::Status Load(const FunctionKey& key, std::string snapshot_blob,
                    const FunctionSettings& settings = {});
  void Unload(const FunctionKey& key);
  bool IsLoaded(const FunctionKey& key) { return pool_.IsLoaded(key); }

  // Runs one invocation. `done` is called exactly once, on an executor
  // thread, when the result is known (kNotFound for a version not loaded).
  // `done` and ResponseBodyWriter calls run on an executor thread inside a
  // TurnBatch (common/turn_batch.h): stream writes they start may be deferred
  // to the end of that executor's loop iteration, so the answers of one
  // iteration leave together.
  void Invoke(const FunctionKey& key, InvocationEvent event, std::string request_id,
              absl::AnyInvocable<void(InvocationOutcome)> done, InvokeOptions options = {});

  // Ends invocation `id` (InvokeOptions::id) wherever it stands: a caller not
  // yet answered gets kCancelled, a streaming body ends with an error, and
  // the isolate is discarded (its JavaScript was stopped mid-flight).
  // ctx.waitUntil() work is dropped. No-op for an unknown or finished id.
  void Cancel(uint64_t id);
  // The caller of invocation `id` can take `bytes` more of its streamed body.
  void GrantCredit(uint64_t id, size_t bytes);

  // Builds and runs a small function that touches the lazily loaded parts of
  // V8 and ICU (time zone, locale data, regexps, JSON, randomness), so they
  // are loaded before the sandbox stops the process opening files.
  absl::Status WarmUp();

  // Invocations started whose `done` has not returned yet (a streamed body
  // and ctx.waitUntil() work may go on after it).
  int in_flight() const { return in_flight_.load(); }
  PoolStats Stats() { return pool_.Stats(); }

 private:
  Executor& PickExecutor();

  const js::RuntimeSpec& spec_;
  const std::string fingerprint_;
  InProcessBuilder in_process_builder_;
  RuntimeOptions options_;
  IsolatePool pool_;
  Watchdog watchdog_;
  std::vector<std::unique_ptr<Executor>> executors_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stopping_{false};
  // Which executor runs each invocation that has an id (for Cancel and
  // GrantCredit); entries leave when their runner finishes.
  struct Route {
    Executor* executor;
    uint64_t token;  // which Invoke published it
  };
  absl::Mutex routes_mu_;
  absl::flat_hash_map<uint64_t, Route> routes_ ABSL_GUARDED_BY(routes_mu_);
  uint64_t next_route_token_ ABSL_GUARDED_BY(routes_mu_) = 0;
};

}  // namespace kiln::worker
