// Fleet: the scheduler's view of its connected kiln-workers and everything it
// sends them. Each worker holds one kiln.v1.Worker/Connect stream (Open);
// invocations are multiplexed on it by invocation id (Invoke), deploys build
// their snapshot on it (Build), and a version is loaded onto a worker once,
// just before its first invocation there (the cold path, which may read the
// store through a VersionSource). Placement (scheduler/placement) picks the
// worker; the Fleet tracks load and warm sets, notices dead workers and
// decides what is retried.
//
//   Fleet fleet(core /* VersionSource */, &log_hub, {.heartbeat_interval = absl::Seconds(1)});
//   // a worker stream's transport:  conn = fleet.Open(stream); fleet.OnFrame(conn, frame); ...
//   fleet.Invoke({.function = ref, .event = event, .request_id = "r1"},
//                [](absl::StatusOr<InvocationReply> reply) { ... });
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kiln/v1/worker.pb.h"
#include "scheduler/fleet/worker_stream.h"
#include "scheduler/placement/placement.h"

namespace kiln::scheduler {

// What a LoadFunction frame carries for one version: the cold path's source.
// Implemented by the scheduler core (snapshot cache, then the store).
class VersionSource {
 public:
  virtual ~VersionSource() = default;

  // The LoadFunction frame for `function`, whose snapshot must have been built
  // for runtime `fingerprint`: snapshot, config and resolved secrets. Called on
  // a Fleet loader thread, never under the Fleet's lock; may read the store.
  // NotFound for an unknown function or version; FailedPrecondition when the
  // version was built for another runtime or binds a secret that is not set.
  virtual absl::StatusOr<kiln::v1::LoadFunction> LoadFor(
      const kiln::v1::FunctionVersionRef& function, absl::string_view fingerprint) = 0;
};

// Where workers' log lines go (LogBatch frames).
class LogConsumer {
 public:
  virtual ~LogConsumer() = default;
  // Entries of versions loaded on the worker that sent them (others are
  // dropped). Called on the gRPC thread that read the frame (shared by every
  // worker stream): must not block.
  virtual void OnLogs(std::vector<kiln::v1::LogEntry> entries) = 0;
};

// A connected worker, as the Fleet last saw it.
struct WorkerInfo {
  uint64_t connection = 0;  // unique per stream in this process
  std::string worker_id;
  std::string fingerprint;
  std::string host;
  std::string peer;
  uint32_t pid = 0;
  uint32_t max_concurrency = 0;
  uint32_t in_flight = 0;             // as the scheduler counts them
  uint64_t isolate_memory_bytes = 0;  // from its last heartbeat
  size_t loaded_versions = 0;
  size_t warm_versions = 0;  // versions with idle isolates, last heartbeat
  bool build_only = false;
  bool draining = false;
};

// Told when a registered worker leaves the fleet (e.g. the Supervisor, which
// kills a local worker declared dead so it can be restarted).
class FleetObserver {
 public:
  virtual ~FleetObserver() = default;
  // Called on whichever thread noticed, never under the Fleet's lock.
  virtual void OnWorkerGone(const WorkerInfo& worker, absl::string_view reason) = 0;
};

struct FleetOptions {
  // Sent to workers in RegisterAck. A worker silent for `missed_heartbeats`
  // intervals is dead.
  absl::Duration heartbeat_interval = absl::Seconds(1);
  int missed_heartbeats = 3;
  // A stream that has not sent Register by then is closed.
  absl::Duration register_timeout = absl::Seconds(10);
  // Workers reserved for snapshot builds, by id; they are never placed for
  // invocations. Null: none.
  std::function<bool(absl::string_view worker_id)> build_only;
  PlacementOptions placement;
  // Dispatch attempts per invocation (re-dispatch happens only for
  // invocations no worker ran: see Invoke).
  int max_attempts = 3;
  // Versions kept loaded per worker; beyond it the least recently used idle
  // ones are unloaded.
  size_t max_loaded_versions = 64;
  // How long past an invocation's own timeout the scheduler waits for the
  // worker's answer before giving up on it.
  absl::Duration answer_grace = absl::Seconds(10);
  // The largest frame a kiln-worker reads (its channel's receive limit, set
  // in worker/server/main.cc). Larger LoadFunction / BuildSnapshot / Invoke
  // frames are refused here instead of breaking the worker's stream.
  size_t max_frame_bytes = 256 << 20;
  // Threads fetching LoadFunction payloads (cold path).
  int loader_threads = 2;
  // Fixes the runtime fingerprint the fleet runs; empty: the first worker to
  // register sets it.
  std::string fingerprint;
};

// Receives a streamed HTTP response body (see InvocationRequest::body), in
// order: data, then one OnEnd (OK when complete; otherwise why it broke off:
// Aborted with the worker's reason, Unavailable when the worker was lost).
// Called on gRPC callback threads (shared by every worker stream), never
// under the Fleet's lock; must not block.
class ResponseBodySink {
 public:
  virtual ~ResponseBodySink() = default;
  virtual void OnData(std::string data) = 0;
  virtual void OnEnd(absl::Status status) = 0;
};

// An invocation for Fleet::Invoke.
struct InvocationRequest {
  kiln::v1::FunctionVersionRef function;
  // The version's runtime fingerprint when the caller knows it; a mismatch
  // with the fleet's is FailedPrecondition. Empty: checked when loading.
  std::string fingerprint;
  kiln::v1::InvocationEvent event;
  std::string request_id;
  // The version's wall-time limit; the Fleet gives up on the worker's answer
  // `answer_grace` after it.
  absl::Duration timeout = absl::Seconds(30);
  // Set (HTTP only): a stream response body may stream. The reply then holds
  // the head (result.http.body_streamed, no body) and the body goes to the
  // sink, at most `stream_window_bytes` ahead of the caller's Credit.
  std::shared_ptr<ResponseBodySink> body;
  size_t stream_window_bytes = 1 << 20;
  // Reachable by request_id for Cancel and Credit (request ids must then be
  // unique among invocations in flight).
  bool cancellable = false;
};

// What a worker answered (or WORKER_LOST when it died after dispatch).
struct InvocationReply {
  kiln::v1::InvocationResult result;
  std::string worker_id;
};

using InvocationCallback = absl::AnyInvocable<void(absl::StatusOr<InvocationReply>)>;

// The connected workers and the work in flight on them. Owned by the
// scheduler's main; thread-safe. Its own threads: a monitor (heartbeat and
// answer deadlines) and `loader_threads` loaders; stream events arrive on
// gRPC's callback threads.
// Callbacks (InvocationCallback, LogConsumer, FleetObserver) run on those
// threads or the caller's, never under the Fleet's lock, and must not block.
class Fleet {
 public:
  // `source` and `logs` (may be null) outlive the Fleet.
  Fleet(VersionSource& source, LogConsumer* logs, FleetOptions options);
  // Stop()s.
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Set before workers connect; not owned; may be null.
  void SetObserver(FleetObserver* observer);

  // ---- a worker stream's events, from its transport (worker_service.cc) ----
  // One worker's stream, from Open until the Fleet calls its Release.
  struct Connection;

  // A worker's stream opened. The Fleet expects Register first and answers
  // RegisterAck, then handles the worker's frames; it writes with
  // stream->StartWrite until it calls stream->Release(status): OK after the
  // stream ended; InvalidArgument when the first frame is not Register;
  // FailedPrecondition when the worker's runtime fingerprint differs from
  // the fleet's (the worker is refused and the reason logged); Unavailable
  // while shutting down. Returns the handle for the calls below, valid until
  // Release. When the stream ends, the worker is dead: see Invoke for what
  // happens to its work.
  Connection* Open(WorkerStream* stream);
  // A frame arrived (one call at a time per connection, in stream order).
  // False when the Fleet refused the worker (it released the stream inside
  // this call): read no more.
  bool OnFrame(Connection* conn, kiln::v1::WorkerFrame& frame);
  // The outstanding StartWrite finished; !ok: the stream broke.
  void OnWriteDone(Connection* conn, bool ok);
  // No more frames will arrive (the worker closed the stream, it broke, or
  // Cancel was called). Not called after OnFrame returned false.
  void OnReadsEnded(Connection* conn);

  // Runs one invocation on a worker chosen by placement. The version is
  // loaded there first if needed (once per worker and version: concurrent
  // first invocations wait for the same load). `done` is called exactly once:
  //   - with the worker's InvocationResult (user errors and limits included);
  //   - with a WORKER_LOST result when the worker died or went silent after
  //     the Invoke frame left the scheduler (it may have run: never re-run);
  //   - with an error status when no worker ran it: Unavailable (no worker
  //     under its cap, shutting down, every attempt's worker died before
  //     dispatch), NotFound / FailedPrecondition (from the VersionSource, or a
  //     fingerprint mismatch), InvalidArgument (no event, or too large for a
  //     frame), Internal (the worker failed to load the version).
  // An invocation that never reached a worker (still queued, or waiting for
  // its load, when the worker died; or refused by a draining worker; or
  // answered NOT_FOUND by a worker that had dropped the version) is
  // dispatched again, up to `max_attempts` times.
  void Invoke(InvocationRequest request, InvocationCallback done);

  // The caller of cancellable invocation `request_id` went away: stop it. An
  // invocation still waiting for its version to load fails with Cancelled at
  // once; one on a worker is cancelled there (its answer, CANCELLED, or the
  // end of its body follows as usual). No-op for unknown ids.
  void Cancel(const std::string& request_id);
  // The caller of `request_id` consumed `bytes` more of its streamed body.
  void Credit(const std::string& request_id, size_t bytes);

  // Builds a snapshot of `build.bundle()` on a worker (build_id is assigned
  // here) and waits for its BuildResult, which may carry a user error
  // (syntax error, top-level throw). Picks a worker with PickBuilder. Waits
  // up to `timeout` for a worker when none is connected yet; retries on
  // another worker when the first dies mid-build or refuses to build beside
  // live isolates (an older kiln-worker; see scheduler/README.md "Builds").
  // Unavailable when no worker can build, DeadlineExceeded past `timeout`,
  // ResourceExhausted when the bundle does not fit in a worker frame.
  absl::StatusOr<kiln::v1::BuildResult> Build(kiln::v1::BuildSnapshot build,
                                              absl::Duration timeout);

  // Unloads every version of tenant/function from every worker (after their
  // in-flight invocations, if any). For a deleted function.
  void UnloadFunction(absl::string_view tenant, absl::string_view function);

  // The runtime fingerprint of the fleet; nullopt until a worker registered
  // (or FleetOptions.fingerprint was set).
  std::optional<std::string> fingerprint() const;

  // Waits until at least `serving` workers that take invocations and
  // `build_only` build-only workers are registered. DeadlineExceeded otherwise.
  absl::Status AwaitWorkers(int serving, int build_only, absl::Duration timeout);

  // The largest frame a worker accepts (FleetOptions.max_frame_bytes).
  size_t max_frame_bytes() const { return options_.max_frame_bytes; }

  // The registered workers, in connection order.
  std::vector<WorkerInfo> Workers() const;

  // Graceful shutdown: takes no more invocations (Unavailable), sends Drain
  // to every worker, and waits until every stream has ended or `deadline`
  // passed; streams left then are closed (their in-flight work fails as for a
  // dead worker).
  void Drain(absl::Duration deadline);

  // Closes every stream, fails what is in flight, stops the Fleet's threads.
  // Idempotent.
  void Stop();

 private:
  struct Invocation;
  struct Load;
  struct PendingBuild;
  class Outbox;
  using Deferred = std::vector<absl::AnyInvocable<void()>>;

  static void RunDeferred(Deferred& deferred);
  absl::Status Register(Connection& conn, const kiln::v1::Register& reg, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleFrame(Connection& conn, kiln::v1::WorkerFrame& frame);
  void HandleResult(Connection& conn, kiln::v1::InvocationResultFrame& frame, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dispatch(std::unique_ptr<Invocation> invocation, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fail(std::unique_ptr<Invocation> invocation, absl::Status status, Deferred& deferred);
  void SendInvoke(Connection& conn, const Invocation& invocation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishOnConnection(Connection& conn, const std::string& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictLoads(Connection& conn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unload(Connection& conn, const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Kill(Connection& conn, const std::string& reason, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleBodyChunk(Connection& conn, kiln::v1::BodyChunk& chunk, Deferred& deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Where a cancellable request is: its connection and invocation, if live.
  Connection* FindRequest(const std::string& request_id, uint64_t* invocation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetRequest(const Invocation& invocation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  WorkerInfo Info(const Connection& conn) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Ends a connection the Fleet has finished with (see WorkerStream::Release).
  static void Release(Connection* conn);
  void MonitorMain();
  void LoaderMain();

  VersionSource& source_;
  LogConsumer* const logs_;
  const FleetOptions options_;

  mutable absl::Mutex mu_;
  FleetObserver* observer_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::optional<std::string> fingerprint_ ABSL_GUARDED_BY(mu_);
  // Registered and registering streams (a Connection lives on past Kill until
  // its stream is released).
  // Ordered by id, so placement ties go to the longest-connected worker.
  std::map<uint64_t, Connection*> connections_ ABSL_GUARDED_BY(mu_);
  uint64_t next_connection_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_invocation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_build_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;  // LRU clock for loads
  struct LoaderJob {
    uint64_t connection;
    std::string key;
    kiln::v1::FunctionVersionRef function;
    std::string fingerprint;
  };
  std::deque<LoaderJob> loader_jobs_ ABSL_GUARDED_BY(mu_);
  struct RequestPlace {
    uint64_t connection = 0;
    uint64_t invocation = 0;
  };
  // Cancellable invocations by request id, from dispatch until answered (or,
  // for a streamed body, until its end).
  absl::flat_hash_map<std::string, RequestPlace> requests_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread monitor_;
  std::vector<std::thread> loaders_;
};

}  // namespace kiln::scheduler
