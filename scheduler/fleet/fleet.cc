// Fleet: per-stream state and its outbox, dispatch and retry rules, the
// monitor and loader threads. Lock order: Fleet::mu_, then a connection's
// Outbox lock; a write's end takes only its Outbox lock.
#include "scheduler/fleet/fleet.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/turn_batch.h"
#include "scheduler/util/log.h"

namespace kiln::scheduler {
namespace {

// A BuildResult error that says the worker could not build at all (it holds
// live isolates; see scheduler/README.md), as opposed to the user's code
// failing: the build is retried elsewhere.
constexpr absl::string_view kBuilderBusy =
    "a snapshot build must run in a process with no other isolate";

// Room for an Invoke frame's fields besides the event.
constexpr size_t kFrameOverhead = 1024;

constexpr int kMaxBusyRetries = 40;
constexpr absl::Duration kBusyRetryDelay = absl::Milliseconds(50);

// Worker answers to Invoke that mean the invocation never started there.
constexpr absl::string_view kNotStarted[] = {"the worker is draining",
                                             "the worker is shutting down"};

std::string VersionKey(const v1::FunctionVersionRef& f) {
  return absl::StrCat(f.tenant(), "/", f.function(), "/", f.version());
}

v1::InvocationResult ErrorResult(v1::InvocationError::Kind kind, std::string message) {
  v1::InvocationResult result;
  result.mutable_error()->set_kind(kind);
  result.mutable_error()->set_message(std::move(message));
  return result;
}

}  // namespace

struct Fleet::Invocation {
  uint64_t id = 0;
  InvocationRequest request;
  InvocationCallback done;
  std::string key;
  int attempts = 0;
  absl::Time deadline;
  bool cancelled = false;  // its caller went away: never dispatched again
  absl::flat_hash_set<uint64_t> refused_by;  // connections that answered "not started"
};

// One version on one worker.
struct Fleet::Load {
  enum class State {
    kFetching,  // a loader is fetching the payload; invocations wait in `waiters`
    kSent,      // LoadFunction is queued or sent; Invoke frames follow it on the stream
    kReady,     // the worker answered LoadResult without error
  };
  State state = State::kFetching;
  v1::FunctionVersionRef function;
  std::vector<uint64_t> waiters;
  uint32_t in_flight = 0;
  uint64_t last_used = 0;
  bool unload_when_idle = false;
  std::string error;  // from a failed LoadResult
};

struct Fleet::PendingBuild {
  uint64_t id = 0;
  uint64_t connection = 0;
  bool done = false;
  bool lost = false;
  v1::BuildResult result;
};

namespace {

// Defers the write starts of a scope (TurnBatch) to its end; declared before
// a lock in the same scope, the writes start once that lock is released.
class WritesAfterScope {
 public:
  WritesAfterScope() { TurnBatch::Begin(); }
  ~WritesAfterScope() { TurnBatch::End(); }
  WritesAfterScope(const WritesAfterScope&) = delete;
  WritesAfterScope& operator=(const WritesAfterScope&) = delete;
};

}  // namespace

// Frames waiting to be written on a connection's stream, and the one write
// outstanding there. Whoever queues a frame while no write is outstanding
// starts the write on its own thread; the write's end starts the next. An
// Invoke frame counts as dispatched once a write has taken it; Close()
// returns the rest, which no worker has seen.
class Fleet::Outbox {
 public:
  struct Item {
    v1::SchedulerFrame frame;
    uint64_t invocation = 0;  // the Invoke frame's id, else 0
  };

  Outbox(Connection* conn, WorkerStream* stream) : conn_(conn), stream_(stream) {}

  void Push(v1::SchedulerFrame frame, uint64_t invocation = 0) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      items_.push_back({std::move(frame), invocation});
      if (writing_ || broken_) return;
      writing_ = true;  // this thread starts the next write, now or at its turn's end
    }
    // The gateway's loop gathers the frames its requests queue during one
    // turn: they leave together when the turn ends. Otherwise the write
    // starts here, still under Fleet::mu_ (a small frame: microseconds);
    // loads and builds, which are large, are queued inside a TurnBatch and
    // start after the lock is released (LoaderMain, Build).
    absl::AnyInvocable<void()> start = [this] { StartWrite(); };
    if (!TurnBatch::Defer(start)) StartWrite();
  }

  // Starts the write Push reserved (writing_): of what is queued now.
  void StartWrite() {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      if (closed_ || broken_ || items_.empty()) {
        writing_ = false;
        // Closed, and its reads ended while the write waited: the stream is
        // finished with.
        release = ShouldRelease();
        if (!release) return;
      } else {
        TakeBatch();
      }
    }
    if (release) {
      Fleet::Release(conn_);
      return;
    }
    stream_->StartWrite(writing_frame_);  // outside the Outbox lock: it may complete inline
  }

  // The outstanding write ended. Starts the next one, if any. True when the
  // stream may now be released: closed, its reads ended, nothing outstanding.
  bool WriteDone(bool ok) {
    if (!ok) {
      // The stream broke: the reads end too; make sure they do (still
      // holding the write, so the stream cannot be released meanwhile).
      // Frames still queued stay undispatched (Close returns them).
      stream_->Cancel();
      absl::MutexLock lock(&mu_);
      writing_ = false;
      writing_frame_.Clear();
      broken_ = true;
      return ShouldRelease();
    }
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      writing_frame_.Clear();
      if (closed_ || broken_ || items_.empty()) return ShouldRelease();
      TakeBatch();
      writing_ = true;
    }
    stream_->StartWrite(writing_frame_);
    return false;
  }

  // The stream's reads ended (after Close). True when the stream may be
  // released now; otherwise the outstanding write's end releases it.
  bool ReadsEnded() {
    absl::MutexLock lock(&mu_);
    reads_ended_ = true;
    return ShouldRelease();
  }

  std::deque<Item> Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    return std::move(items_);
  }

 private:
  // True once, when the stream is finished with.
  bool ShouldRelease() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (released_ || !closed_ || !reads_ended_ || writing_) return false;
    released_ = true;
    return true;
  }

  // Moves queued items into writing_frame_: in order while their frames
  // total at most kBatchBytes (always at least one), several as one batch
  // message. Loads and builds (snapshots, bundles: large, and slow to flow
  // through a busy stream) go alone, so the invocations behind one stay
  // queued — undispatched, hence retried elsewhere — should the stream break
  // first.
  void TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    constexpr size_t kBatchBytes = 256 << 10;
    writing_frame_.Clear();
    size_t bytes = 0;
    int taken = 0;
    v1::SchedulerFrame first;
    while (!items_.empty()) {
      v1::SchedulerFrame& frame = items_.front().frame;
      const bool alone = frame.has_load() || frame.has_build();
      const size_t size = frame.ByteSizeLong();
      if (taken > 0 && (alone || bytes + size > kBatchBytes)) break;
      bytes += size;
      if (taken == 0) {
        first = std::move(frame);
      } else {
        if (taken == 1) *writing_frame_.mutable_batch()->add_frames() = std::move(first);
        *writing_frame_.mutable_batch()->add_frames() = std::move(frame);
      }
      ++taken;
      items_.pop_front();
      if (alone) break;
    }
    if (taken == 1) writing_frame_ = std::move(first);
  }

  Connection* const conn_;
  WorkerStream* const stream_;
  absl::Mutex mu_;
  std::deque<Item> items_ ABSL_GUARDED_BY(mu_);
  // The frame being written; only its writer touches it, until WriteDone.
  v1::SchedulerFrame writing_frame_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // a write failed: write no more
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

// One worker's stream. Allocated by Open, deleted by Release; every field but
// `outbox` is guarded by Fleet::mu_.
struct Fleet::Connection {
  enum class State { kRegistering, kLive, kDraining, kDead };

  uint64_t id = 0;
  WorkerStream* const stream;
  std::string peer;
  absl::Time connected;
  State state = State::kRegistering;

  std::string worker_id;
  std::string fingerprint;
  std::string host;
  uint32_t pid = 0;
  uint32_t max_concurrency = 0;
  bool build_only = false;

  absl::Time last_heard;
  uint32_t in_flight = 0;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Invocation>> invocations;
  absl::flat_hash_map<std::string, Load> loads;
  absl::flat_hash_map<std::string, uint32_t> idle;  // idle isolates per version, last heartbeat
  uint64_t isolate_memory_bytes = 0;                // last heartbeat
  absl::flat_hash_map<uint64_t, PendingBuild*> builds;
  bool can_build = true;
  // Invocations whose head was answered and whose body is still streaming,
  // by invocation id. They still count in `in_flight`.
  struct BodyStream {
    std::unique_ptr<Invocation> invocation;  // `done` already called
  };
  absl::flat_hash_map<uint64_t, BodyStream> streams;

  Outbox outbox;
  // Only the stream's frame events touch these (one at a time).
  bool registered = false;     // its Register was accepted
  absl::Status end_status;     // what Release tells the transport

  explicit Connection(WorkerStream* s) : stream(s), outbox(this, s) {}
};

Fleet::Fleet(VersionSource& source, LogConsumer* logs, FleetOptions options)
    : source_(source), logs_(logs), options_(std::move(options)) {
  if (!options_.fingerprint.empty()) fingerprint_ = options_.fingerprint;
  monitor_ = std::thread([this] { MonitorMain(); });
  for (int i = 0; i < std::max(1, options_.loader_threads); ++i) {
    loaders_.emplace_back([this] { LoaderMain(); });
  }
}

Fleet::~Fleet() { Stop(); }

void Fleet::SetObserver(FleetObserver* observer) {
  absl::MutexLock lock(&mu_);
  observer_ = observer;
}

void Fleet::RunDeferred(Deferred& deferred) {
  for (auto& fn : deferred) fn();
  deferred.clear();
}

std::optional<std::string> Fleet::fingerprint() const {
  absl::MutexLock lock(&mu_);
  return fingerprint_;
}

WorkerInfo Fleet::Info(const Connection& conn) const {
  WorkerInfo info;
  info.connection = conn.id;
  info.worker_id = conn.worker_id;
  info.fingerprint = conn.fingerprint;
  info.host = conn.host;
  info.peer = conn.peer;
  info.pid = conn.pid;
  info.max_concurrency = conn.max_concurrency;
  info.in_flight = conn.in_flight;
  info.isolate_memory_bytes = conn.isolate_memory_bytes;
  info.loaded_versions = conn.loads.size();
  for (const auto& [key, idle] : conn.idle) info.warm_versions += idle > 0 ? 1 : 0;
  info.build_only = conn.build_only;
  info.draining = conn.state == Connection::State::kDraining;
  return info;
}

std::vector<WorkerInfo> Fleet::Workers() const {
  absl::MutexLock lock(&mu_);
  std::vector<WorkerInfo> workers;
  for (const auto& [id, conn] : connections_) {
    if (conn->state == Connection::State::kLive || conn->state == Connection::State::kDraining) {
      workers.push_back(Info(*conn));
    }
  }
  std::sort(workers.begin(), workers.end(),
            [](const WorkerInfo& a, const WorkerInfo& b) { return a.connection < b.connection; });
  return workers;
}

absl::Status Fleet::AwaitWorkers(int serving, int build_only, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int s = 0, b = 0;
    for (const auto& [id, conn] : connections_) {
      if (conn->state != Connection::State::kLive) continue;
      (conn->build_only ? b : s)++;
    }
    return s >= serving && b >= build_only;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&enough), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("fewer than ", serving, " serving and ", build_only,
                     " build-only workers registered within ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

// ---- streams ----------------------------------------------------------------

Fleet::Connection* Fleet::Open(WorkerStream* stream) {
  auto* conn = new Connection(stream);
  conn->peer = stream->peer();
  conn->connected = absl::Now();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    // Refused at its first frame (or when its reads end, if none comes
    // before the server's shutdown cancels the call): no Cancel, so the
    // worker reads the status as the reason.
    conn->state = Connection::State::kDead;
    conn->end_status = absl::UnavailableError("the scheduler is shutting down");
    conn->outbox.Close();
    return conn;
  }
  conn->id = ++next_connection_;
  connections_[conn->id] = conn;
  return conn;
}

bool Fleet::OnFrame(Connection* conn, v1::WorkerFrame& frame) {
  if (conn->registered) {
    if (frame.has_batch()) {
      for (v1::WorkerFrame& inner : *frame.mutable_batch()->mutable_frames()) {
        if (!inner.has_batch()) HandleFrame(*conn, inner);  // never nested
      }
    } else {
      HandleFrame(*conn, frame);
    }
    return true;
  }
  // The first frame: Register, or the worker is refused.
  Deferred deferred;
  absl::Status registered;
  if (!frame.has_register_()) registered = absl::InvalidArgumentError("the first frame must be Register");
  {
    absl::MutexLock lock(&mu_);
    if (registered.ok() && conn->state == Connection::State::kDead) {
      registered = conn->end_status.ok()
                       ? absl::DeadlineExceededError("the worker did not register in time")
                       : conn->end_status;
    }
    if (registered.ok()) registered = Register(*conn, frame.register_(), deferred);
    if (!registered.ok()) {
      // Refused: no Cancel, so the worker reads the status as the reason.
      conn->state = Connection::State::kDead;
      connections_.erase(conn->id);
      conn->outbox.Close();
    }
  }
  RunDeferred(deferred);
  if (registered.ok()) {
    conn->registered = true;
    return true;
  }
  conn->end_status = registered;
  if (conn->outbox.ReadsEnded()) Release(conn);  // nothing was written to it
  return false;
}

void Fleet::OnReadsEnded(Connection* conn) {
  Deferred deferred;
  {
    absl::MutexLock lock(&mu_);
    if (!conn->registered) {
      if (conn->end_status.ok()) {
        conn->end_status = absl::UnavailableError("the stream ended before Register");
      }
      if (conn->state != Connection::State::kDead) {
        conn->state = Connection::State::kDead;
        connections_.erase(conn->id);
        conn->outbox.Close();
      }
    } else {
      Kill(*conn, "its stream ended", deferred);
    }
  }
  RunDeferred(deferred);
  if (conn->outbox.ReadsEnded()) Release(conn);
}

void Fleet::OnWriteDone(Connection* conn, bool ok) {
  if (conn->outbox.WriteDone(ok)) Release(conn);
}

void Fleet::Release(Connection* conn) {
  WorkerStream* stream = conn->stream;
  absl::Status status = std::move(conn->end_status);
  delete conn;
  stream->Release(std::move(status));
}

absl::Status Fleet::Register(Connection& conn, const v1::Register& reg, Deferred& deferred) {
  if (stopping_ || draining_) return absl::UnavailableError("the scheduler is shutting down");
  if (reg.runtime_fingerprint().empty()) {
    return absl::InvalidArgumentError("Register carries no runtime fingerprint");
  }
  if (!fingerprint_) {
    fingerprint_ = reg.runtime_fingerprint();
    Log("fleet", absl::StrCat("runtime fingerprint is ", *fingerprint_,
                              " (first worker: ", reg.worker_id(), ")"));
  } else if (*fingerprint_ != reg.runtime_fingerprint()) {
    std::string message =
        absl::StrCat("worker ", reg.worker_id(), " runs runtime ", reg.runtime_fingerprint(),
                     ", the fleet runs ", *fingerprint_,
                     ": snapshots would not load there. Start it with the cluster's hash seed "
                     "(--hash-seed / KILN_HASH_SEED) and the same kiln-worker build");
    Log("fleet", absl::StrCat("refused ", conn.peer, ": ", message));
    return absl::FailedPreconditionError(message);
  }
  // A worker registering under a live worker's id is that worker restarted:
  // the old stream is dead.
  std::vector<Connection*> replaced;
  for (const auto& [id, other] : connections_) {
    if (other != &conn && other->state != Connection::State::kRegistering &&
        other->worker_id == reg.worker_id()) {
      replaced.push_back(other);
    }
  }
  for (Connection* other : replaced) {
    Kill(*other, "a new stream registered with its worker id", deferred);
  }

  conn.worker_id = reg.worker_id().empty() ? conn.peer : reg.worker_id();
  conn.fingerprint = reg.runtime_fingerprint();
  conn.host = reg.host();
  conn.pid = reg.pid();
  conn.max_concurrency = reg.max_concurrency();
  conn.build_only = options_.build_only != nullptr && options_.build_only(conn.worker_id);
  conn.last_heard = absl::Now();
  conn.state = Connection::State::kLive;

  v1::SchedulerFrame ack;
  ack.mutable_register_ack()->set_worker_id(conn.worker_id);
  ack.mutable_register_ack()->set_heartbeat_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  conn.outbox.Push(std::move(ack));
  Log("fleet", absl::StrCat("worker ", conn.worker_id, " registered (pid ", conn.pid, " on ",
                            conn.host, ", ", conn.peer, ", max concurrency ", conn.max_concurrency,
                            conn.build_only ? ", builds only" : "", ")"));
  return absl::OkStatus();
}

void Fleet::HandleFrame(Connection& conn, v1::WorkerFrame& frame) {
  Deferred deferred;
  std::vector<v1::LogEntry> logs;
  {
    absl::MutexLock lock(&mu_);
    if (conn.state == Connection::State::kDead) return;
    conn.last_heard = absl::Now();
    switch (frame.kind_case()) {
      case v1::WorkerFrame::kHeartbeat:
        conn.isolate_memory_bytes = frame.heartbeat().isolate_memory_bytes();
        conn.idle.clear();
        for (const v1::WarmFunction& warm : frame.heartbeat().warm()) {
          conn.idle[VersionKey(warm.function())] = warm.idle_isolates();
        }
        break;
      case v1::WorkerFrame::kBuildResult: {
        auto it = conn.builds.find(frame.build_result().build_id());
        if (it == conn.builds.end()) break;  // its Build gave up
        it->second->result = std::move(*frame.mutable_build_result());
        it->second->done = true;
        conn.builds.erase(it);
        break;
      }
      case v1::WorkerFrame::kLoadResult: {
        const std::string key = VersionKey(frame.load_result().function());
        auto it = conn.loads.find(key);
        if (it == conn.loads.end()) break;
        if (!frame.load_result().error().empty()) {
          it->second.error = frame.load_result().error();
          Log("fleet", absl::StrCat("worker ", conn.worker_id, " failed to load ", key, ": ",
                                    it->second.error));
        } else if (it->second.state == Load::State::kSent) {
          it->second.state = Load::State::kReady;
        }
        break;
      }
      case v1::WorkerFrame::kResult:
        HandleResult(conn, *frame.mutable_result(), deferred);
        break;
      case v1::WorkerFrame::kLogs:
        for (v1::LogEntry& entry : *frame.mutable_logs()->mutable_entries()) {
          // Only lines of versions this worker was given: a worker cannot
          // speak for functions it does not run.
          v1::FunctionVersionRef ref;
          ref.set_tenant(entry.tenant());
          ref.set_function(entry.function());
          ref.set_version(entry.version());
          if (conn.loads.contains(VersionKey(ref))) logs.push_back(std::move(entry));
        }
        break;
      case v1::WorkerFrame::kResponseBody:
        HandleBodyChunk(conn, *frame.mutable_response_body(), deferred);
        break;
      case v1::WorkerFrame::kRegister:
      case v1::WorkerFrame::kBatch:
      case v1::WorkerFrame::KIND_NOT_SET:
        break;
    }
  }
  RunDeferred(deferred);
  if (!logs.empty() && logs_ != nullptr) logs_->OnLogs(std::move(logs));
}

// ---- invocations --------------------------------------------------------------

void Fleet::Invoke(InvocationRequest request, InvocationCallback done) {
  auto invocation = std::make_unique<Invocation>();
  invocation->key = VersionKey(request.function);
  invocation->deadline = absl::Now() + request.timeout + options_.answer_grace;
  invocation->request = std::move(request);
  invocation->done = std::move(done);
  Deferred deferred;
  if (invocation->request.event.kind_case() == v1::InvocationEvent::KIND_NOT_SET) {
    Fail(std::move(invocation), absl::InvalidArgumentError("the invocation carries no event"),
         deferred);
  } else if (invocation->request.event.ByteSizeLong() + kFrameOverhead > options_.max_frame_bytes) {
    Fail(std::move(invocation),
         absl::InvalidArgumentError(absl::StrCat(
             "the request (", invocation->request.event.ByteSizeLong(),
             " bytes) is larger than a worker accepts (", options_.max_frame_bytes, " bytes)")),
         deferred);
  } else {
    absl::MutexLock lock(&mu_);
    invocation->id = ++next_invocation_;
    Dispatch(std::move(invocation), deferred);
  }
  RunDeferred(deferred);
}

void Fleet::Fail(std::unique_ptr<Invocation> invocation, absl::Status status, Deferred& deferred) {
  deferred.push_back([invocation = std::move(invocation), status = std::move(status)]() mutable {
    invocation->done(std::move(status));
  });
}

void Fleet::ForgetRequest(const Invocation& invocation) {
  if (!invocation.request.cancellable) return;
  auto it = requests_.find(invocation.request.request_id);
  if (it != requests_.end() && it->second.invocation == invocation.id) requests_.erase(it);
}

Fleet::Connection* Fleet::FindRequest(const std::string& request_id, uint64_t* invocation) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return nullptr;
  auto conn = connections_.find(it->second.connection);
  if (conn == connections_.end()) return nullptr;
  *invocation = it->second.invocation;
  return conn->second;
}

void Fleet::Cancel(const std::string& request_id) {
  Deferred deferred;
  {
    absl::MutexLock lock(&mu_);
    uint64_t id = 0;
    Connection* conn = FindRequest(request_id, &id);
    if (conn == nullptr) return;
    auto inv = conn->invocations.find(id);
    if (inv != conn->invocations.end()) {
      // Still waiting for its version to load: it never reaches the worker.
      auto load = conn->loads.find(inv->second->key);
      if (load != conn->loads.end() && load->second.state == Load::State::kFetching) {
        auto& waiters = load->second.waiters;
        auto waiter = std::find(waiters.begin(), waiters.end(), id);
        if (waiter != waiters.end()) {
          waiters.erase(waiter);
          std::unique_ptr<Invocation> invocation = std::move(inv->second);
          conn->invocations.erase(inv);
          FinishOnConnection(*conn, invocation->key);
          ForgetRequest(*invocation);
          Fail(std::move(invocation), absl::CancelledError("the caller went away"), deferred);
        }
      }
    }
    if (deferred.empty() && inv != conn->invocations.end()) inv->second->cancelled = true;
    if (deferred.empty() && (inv != conn->invocations.end() || conn->streams.contains(id))) {
      v1::SchedulerFrame frame;
      frame.mutable_cancel()->set_invocation_id(id);
      conn->outbox.Push(std::move(frame));
    }
  }
  RunDeferred(deferred);
}

void Fleet::Credit(const std::string& request_id, size_t bytes) {
  absl::MutexLock lock(&mu_);
  uint64_t id = 0;
  Connection* conn = FindRequest(request_id, &id);
  if (conn == nullptr || !conn->streams.contains(id)) return;
  v1::SchedulerFrame frame;
  frame.mutable_body_credit()->set_invocation_id(id);
  frame.mutable_body_credit()->set_bytes(bytes);
  conn->outbox.Push(std::move(frame));
}

void Fleet::HandleBodyChunk(Connection& conn, v1::BodyChunk& chunk, Deferred& deferred) {
  auto it = conn.streams.find(chunk.invocation_id());
  if (it == conn.streams.end()) return;  // unknown, or already ended
  std::shared_ptr<ResponseBodySink> sink = it->second.invocation->request.body;
  if (!chunk.data().empty()) {
    deferred.push_back([sink, data = std::move(*chunk.mutable_data())]() mutable {
      sink->OnData(std::move(data));
    });
  }
  if (!chunk.last()) return;
  std::unique_ptr<Invocation> invocation = std::move(it->second.invocation);
  conn.streams.erase(it);
  FinishOnConnection(conn, invocation->key);
  ForgetRequest(*invocation);
  absl::Status status = chunk.error().empty() ? absl::OkStatus() : absl::AbortedError(chunk.error());
  deferred.push_back([sink, status = std::move(status)]() mutable { sink->OnEnd(std::move(status)); });
}

void Fleet::Dispatch(std::unique_ptr<Invocation> invocation, Deferred& deferred) {
  // A retried invocation's place from an earlier attempt is stale now.
  ForgetRequest(*invocation);
  if (invocation->cancelled) {
    // Its caller left while it was on a worker that then gave it back (or
    // died before sending it): do not run it elsewhere.
    Fail(std::move(invocation), absl::CancelledError("the caller went away"), deferred);
    return;
  }
  if (stopping_ || draining_) {
    Fail(std::move(invocation), absl::UnavailableError("the scheduler is shutting down"), deferred);
    return;
  }
  if (!fingerprint_) {
    Fail(std::move(invocation), absl::UnavailableError("no worker has registered yet"), deferred);
    return;
  }
  const InvocationRequest& request = invocation->request;
  if (!request.fingerprint.empty() && request.fingerprint != *fingerprint_) {
    Fail(std::move(invocation),
         absl::FailedPreconditionError(
             absl::StrCat(request.function.function(), " version ", request.function.version(),
                          " was built for runtime ", request.fingerprint, " but the workers run ",
                          *fingerprint_, ": deploy it again")),
         deferred);
    return;
  }
  if (++invocation->attempts > options_.max_attempts) {
    Fail(std::move(invocation),
         absl::UnavailableError(
             absl::StrCat("no worker took the invocation in ", options_.max_attempts, " attempts")),
         deferred);
    return;
  }

  std::vector<Connection*> candidates;
  std::vector<WorkerView> views;
  for (const auto& [id, conn] : connections_) {
    if (conn->state != Connection::State::kLive || conn->build_only) continue;
    if (invocation->refused_by.contains(id)) continue;
    auto load = conn->loads.find(invocation->key);
    // A worker that failed to load the version is not tried again until the
    // invocations sent with that load have come back.
    if (load != conn->loads.end() && !load->second.error.empty()) continue;
    auto idle = conn->idle.find(invocation->key);
    candidates.push_back(conn);
    views.push_back({.in_flight = conn->in_flight,
                     .max_concurrency = conn->max_concurrency,
                     .loaded = load != conn->loads.end(),
                     .idle_isolates = idle == conn->idle.end() ? 0 : idle->second});
  }
  absl::StatusOr<size_t> pick = PickWorker(views, options_.placement);
  if (!pick.ok()) {
    Fail(std::move(invocation), pick.status(), deferred);
    return;
  }
  Connection& conn = *candidates[*pick];
  const std::string key = invocation->key;
  auto [it, created] = conn.loads.try_emplace(key);
  Load& load = it->second;
  load.last_used = ++tick_;
  load.in_flight++;
  conn.in_flight++;
  const uint64_t id = invocation->id;
  if (created) {
    load.state = Load::State::kFetching;
    load.function = request.function;
    load.waiters.push_back(id);
    loader_jobs_.push_back({conn.id, key, request.function, *fingerprint_});
  } else if (load.state == Load::State::kFetching) {
    load.waiters.push_back(id);
  } else {
    SendInvoke(conn, *invocation);
  }
  if (invocation->request.cancellable) {
    requests_[invocation->request.request_id] = {.connection = conn.id, .invocation = id};
  }
  conn.invocations[id] = std::move(invocation);
  if (created) EvictLoads(conn);
}

void Fleet::SendInvoke(Connection& conn, const Invocation& invocation) {
  v1::SchedulerFrame frame;
  v1::Invoke* invoke = frame.mutable_invoke();
  invoke->set_invocation_id(invocation.id);
  *invoke->mutable_function() = invocation.request.function;
  invoke->set_request_id(invocation.request.request_id);
  *invoke->mutable_event() = invocation.request.event;
  if (invocation.request.body != nullptr && invocation.request.event.has_http()) {
    invoke->set_stream_window_bytes(invocation.request.stream_window_bytes);
  }
  conn.outbox.Push(std::move(frame), invocation.id);
}

// Bookkeeping when an invocation leaves `conn` (answered or failed).
void Fleet::FinishOnConnection(Connection& conn, const std::string& key) {
  if (conn.in_flight > 0) conn.in_flight--;
  auto it = conn.loads.find(key);
  if (it == conn.loads.end()) return;
  if (it->second.in_flight > 0) it->second.in_flight--;
  if (it->second.in_flight == 0 && (it->second.unload_when_idle || !it->second.error.empty())) {
    Unload(conn, key);
  }
}

void Fleet::HandleResult(Connection& conn, v1::InvocationResultFrame& frame, Deferred& deferred) {
  auto it = conn.invocations.find(frame.invocation_id());
  if (it == conn.invocations.end()) {
    // Given up on (deadline), or unknown. A body that starts streaming for
    // nobody would hold an isolate until its wall limit: stop it.
    if (frame.result().http().body_streamed()) {
      v1::SchedulerFrame cancel;
      cancel.mutable_cancel()->set_invocation_id(frame.invocation_id());
      conn.outbox.Push(std::move(cancel));
    }
    return;
  }
  std::unique_ptr<Invocation> invocation = std::move(it->second);
  conn.invocations.erase(it);
  const std::string key = invocation->key;
  std::string load_error;
  if (auto load = conn.loads.find(key); load != conn.loads.end()) load_error = load->second.error;

  v1::InvocationResult& result = *frame.mutable_result();
  if (result.has_error()) {
    const v1::InvocationError& error = result.error();
    if (error.kind() == v1::InvocationError::NOT_FOUND) {
      if (!load_error.empty()) {
        FinishOnConnection(conn, key);
        ForgetRequest(*invocation);
        Fail(std::move(invocation),
             absl::InternalError(absl::StrCat("worker ", conn.worker_id, " could not load ", key,
                                              ": ", load_error)),
             deferred);
        return;
      }
      // The worker does not hold the version (it dropped it): the invocation
      // did not run. Forget the load (invocations still in flight with it
      // come back the same way) and dispatch again, here or elsewhere.
      FinishOnConnection(conn, key);
      conn.loads.erase(key);
      Dispatch(std::move(invocation), deferred);
      return;
    }
    if (error.kind() == v1::InvocationError::UNAVAILABLE &&
        std::find(std::begin(kNotStarted), std::end(kNotStarted), error.message()) !=
            std::end(kNotStarted)) {
      // The worker is going away: place nothing more there.
      if (conn.state == Connection::State::kLive) conn.state = Connection::State::kDraining;
      FinishOnConnection(conn, key);
      invocation->refused_by.insert(conn.id);
      Dispatch(std::move(invocation), deferred);
      return;
    }
  }
  if (result.has_http() && result.http().body_streamed()) {
    if (invocation->request.body == nullptr) {
      // Never asked for: a worker bug. The body's frames are dropped.
      result = ErrorResult(v1::InvocationError::INTERNAL,
                           absl::StrCat("worker ", conn.worker_id, " streamed a body nobody asked for"));
    } else {
      // The head goes to the caller now; the invocation stays on the worker
      // (and in flight) until the body's last chunk.
      InvocationCallback done = std::move(invocation->done);
      const uint64_t id = invocation->id;
      conn.streams[id] = {.invocation = std::move(invocation)};
      deferred.push_back([done = std::move(done), result = std::move(result),
                          worker = conn.worker_id]() mutable {
        done(InvocationReply{.result = std::move(result), .worker_id = std::move(worker)});
      });
      return;
    }
  }
  FinishOnConnection(conn, key);
  ForgetRequest(*invocation);
  deferred.push_back([invocation = std::move(invocation), result = std::move(result),
                      worker = conn.worker_id]() mutable {
    invocation->done(InvocationReply{.result = std::move(result), .worker_id = std::move(worker)});
  });
}

void Fleet::Unload(Connection& conn, const std::string& key) {
  auto it = conn.loads.find(key);
  if (it == conn.loads.end()) return;
  if (it->second.state != Load::State::kFetching) {
    v1::SchedulerFrame frame;
    *frame.mutable_unload()->mutable_function() = it->second.function;
    conn.outbox.Push(std::move(frame));
  }
  conn.loads.erase(it);
}

void Fleet::EvictLoads(Connection& conn) {
  while (conn.loads.size() > options_.max_loaded_versions) {
    std::string victim;
    uint64_t oldest = UINT64_MAX;
    for (const auto& [key, load] : conn.loads) {
      if (load.in_flight == 0 && load.state != Load::State::kFetching && load.last_used < oldest) {
        oldest = load.last_used;
        victim = key;
      }
    }
    if (victim.empty()) return;
    Unload(conn, victim);
  }
}

void Fleet::UnloadFunction(absl::string_view tenant, absl::string_view function) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, conn] : connections_) {
    std::vector<std::string> keys;
    for (auto& [key, load] : conn->loads) {
      if (load.function.tenant() != tenant || load.function.function() != function) continue;
      if (load.in_flight == 0 && load.state != Load::State::kFetching) {
        keys.push_back(key);
      } else {
        load.unload_when_idle = true;
      }
    }
    for (const std::string& key : keys) Unload(*conn, key);
  }
}

void Fleet::LoaderMain() {
  while (true) {
    LoaderJob job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Fleet* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->loader_jobs_.empty();
          },
          this));
      if (stopping_) return;
      job = std::move(loader_jobs_.front());
      loader_jobs_.pop_front();
    }
    absl::StatusOr<v1::LoadFunction> payload = source_.LoadFor(job.function, job.fingerprint);
    v1::SchedulerFrame frame;
    if (payload.ok()) {
      *frame.mutable_load() = std::move(*payload);
      *frame.mutable_load()->mutable_function() = job.function;
      if (frame.ByteSizeLong() > options_.max_frame_bytes) {
        payload = absl::ResourceExhaustedError(absl::StrCat(
            "the snapshot of ", job.key, " (", frame.load().snapshot().size(),
            " bytes) does not fit in a worker frame (", options_.max_frame_bytes, " bytes)"));
      }
    }
    Deferred deferred;
    {
      // The snapshot (up to 256 MiB) is serialized when its write starts:
      // after the lock is released, not under it.
      WritesAfterScope writes;
      absl::MutexLock lock(&mu_);
      auto conn_it = connections_.find(job.connection);
      if (conn_it == connections_.end()) continue;  // it died; Kill re-dispatched the waiters
      Connection& conn = *conn_it->second;
      auto load_it = conn.loads.find(job.key);
      if (load_it == conn.loads.end() || load_it->second.state != Load::State::kFetching) continue;
      std::vector<uint64_t> waiters = std::move(load_it->second.waiters);
      if (!payload.ok()) {
        conn.loads.erase(load_it);
        for (uint64_t id : waiters) {
          auto inv = conn.invocations.find(id);
          if (inv == conn.invocations.end()) continue;
          std::unique_ptr<Invocation> invocation = std::move(inv->second);
          conn.invocations.erase(inv);
          if (conn.in_flight > 0) conn.in_flight--;
          ForgetRequest(*invocation);
          Fail(std::move(invocation), payload.status(), deferred);
        }
      } else {
        load_it->second.state = Load::State::kSent;
        conn.outbox.Push(std::move(frame));
        for (uint64_t id : waiters) {
          auto inv = conn.invocations.find(id);
          if (inv != conn.invocations.end()) SendInvoke(conn, *inv->second);
        }
      }
    }
    RunDeferred(deferred);
  }
}

// ---- death, builds, drain -------------------------------------------------------

void Fleet::Kill(Connection& conn, const std::string& reason, Deferred& deferred) {
  if (conn.state == Connection::State::kDead) return;
  const bool registered = conn.state != Connection::State::kRegistering;
  const WorkerInfo info = Info(conn);
  conn.state = Connection::State::kDead;
  connections_.erase(conn.id);

  // What the writer never took, and what waits for a load, reached no worker.
  absl::flat_hash_set<uint64_t> undispatched;
  for (const Outbox::Item& item : conn.outbox.Close()) {
    if (item.invocation != 0) undispatched.insert(item.invocation);
  }
  for (const auto& [key, load] : conn.loads) {
    if (load.state == Load::State::kFetching)
      undispatched.insert(load.waiters.begin(), load.waiters.end());
  }
  int lost = 0, retried = 0;
  for (auto& [id, invocation] : conn.invocations) {
    if (undispatched.contains(id)) {
      ++retried;
      Dispatch(std::move(invocation), deferred);
      continue;
    }
    ++lost;
    ForgetRequest(*invocation);
    v1::InvocationResult result =
        ErrorResult(v1::InvocationError::WORKER_LOST,
                    absl::StrCat("worker ", conn.worker_id, " was lost before answering (", reason,
                                 "); the invocation may have run and is not retried"));
    deferred.push_back([invocation = std::move(invocation), result = std::move(result),
                        worker = conn.worker_id]() mutable {
      invocation->done(
          InvocationReply{.result = std::move(result), .worker_id = std::move(worker)});
    });
  }
  conn.invocations.clear();
  for (auto& [id, stream] : conn.streams) {
    ++lost;
    ForgetRequest(*stream.invocation);
    deferred.push_back([sink = stream.invocation->request.body,
                        status = absl::UnavailableError(absl::StrCat(
                            "worker ", conn.worker_id, " was lost mid-body (", reason, ")"))]() mutable {
      sink->OnEnd(std::move(status));
    });
  }
  conn.streams.clear();
  conn.loads.clear();
  conn.in_flight = 0;
  for (auto& [id, build] : conn.builds) {
    build->lost = true;
    build->done = true;
  }
  conn.builds.clear();
  conn.stream->Cancel();

  if (registered) {
    Log("fleet", absl::StrCat("worker ", conn.worker_id, " is gone: ", reason, " (", lost,
                              " in-flight invocations lost, ", retried, " re-dispatched)"));
    if (observer_ != nullptr) {
      deferred.push_back(
          [observer = observer_, info, reason] { observer->OnWorkerGone(info, reason); });
    }
  }
}

void Fleet::MonitorMain() {
  const absl::Duration tick = std::min(absl::Milliseconds(100), options_.heartbeat_interval / 4);
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), tick);
    if (stopping_) break;
    const absl::Time now = absl::Now();
    const absl::Duration silence_limit = options_.heartbeat_interval * options_.missed_heartbeats;
    Deferred deferred;
    std::vector<std::pair<Connection*, std::string>> dead;
    for (const auto& [id, conn] : connections_) {
      if (conn->state == Connection::State::kRegistering) {
        if (now - conn->connected > options_.register_timeout) {
          dead.emplace_back(conn, "it did not register in time");
        }
        continue;
      }
      if (now - conn->last_heard > silence_limit) {
        dead.emplace_back(conn,
                          absl::StrCat("silent for ", options_.missed_heartbeats, " heartbeats (",
                                       absl::FormatDuration(now - conn->last_heard), ")"));
        continue;
      }
      std::vector<uint64_t> late;
      for (const auto& [inv_id, invocation] : conn->invocations) {
        if (now > invocation->deadline) late.push_back(inv_id);
      }
      for (uint64_t inv_id : late) {
        auto it = conn->invocations.find(inv_id);
        std::unique_ptr<Invocation> invocation = std::move(it->second);
        conn->invocations.erase(it);
        FinishOnConnection(*conn, invocation->key);
        ForgetRequest(*invocation);
        // Nobody waits for it any more: let the worker stop it.
        v1::SchedulerFrame cancel;
        cancel.mutable_cancel()->set_invocation_id(inv_id);
        conn->outbox.Push(std::move(cancel));
        v1::InvocationResult result = ErrorResult(
            v1::InvocationError::WORKER_LOST,
            absl::StrCat(
                "worker ", conn->worker_id, " did not answer within ",
                absl::FormatDuration(invocation->request.timeout + options_.answer_grace)));
        deferred.push_back([invocation = std::move(invocation), result = std::move(result),
                            worker = conn->worker_id]() mutable {
          invocation->done(
              InvocationReply{.result = std::move(result), .worker_id = std::move(worker)});
        });
      }
    }
    for (auto& [conn, reason] : dead) Kill(*conn, reason, deferred);
    if (!deferred.empty()) {
      mu_.Unlock();
      RunDeferred(deferred);
      mu_.Lock();
    }
  }
}

absl::StatusOr<v1::BuildResult> Fleet::Build(v1::BuildSnapshot build, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::flat_hash_set<uint64_t> excluded;
  int busy_retries = 0;
  std::string last_problem = "no worker can build a snapshot";
  absl::MutexLock lock(&mu_);
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    std::vector<Connection*> candidates;
    std::vector<BuilderView> views;
    // Waits while no worker is connected at all (start-up); gives up at once
    // when every connected one was tried.
    auto find = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      candidates.clear();
      views.clear();
      if (stopping_ || draining_) return true;
      bool any_live = false;
      for (const auto& [id, conn] : connections_) {
        if (conn->state == Connection::State::kLive) any_live = true;
      }
      if (!any_live) return false;
      for (const auto& [id, conn] : connections_) {
        if (conn->state != Connection::State::kLive || excluded.contains(id)) continue;
        if (!conn->can_build && !conn->loads.empty()) continue;
        candidates.push_back(conn);
        views.push_back({.build_only = conn->build_only,
                         .holds_functions = !conn->loads.empty(),
                         .builds = static_cast<uint32_t>(conn->builds.size()),
                         .in_flight = conn->in_flight});
      }
      return true;
    };
    mu_.AwaitWithDeadline(absl::Condition(&find), deadline);
    if (stopping_ || draining_) return absl::UnavailableError("the scheduler is shutting down");
    absl::StatusOr<size_t> pick = PickBuilder(views);
    if (!pick.ok()) {
      if (excluded.empty() && !connections_.empty()) {
        last_problem =
            "every worker holds live isolates and cannot build (run a build-only worker)";
      }
      return absl::UnavailableError(last_problem);
    }
    Connection* conn = candidates[*pick];

    PendingBuild pending;
    pending.id = ++next_build_;
    pending.connection = conn->id;
    build.set_build_id(pending.id);
    v1::SchedulerFrame frame;
    *frame.mutable_build() = build;
    if (frame.ByteSizeLong() > options_.max_frame_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the bundle (", frame.ByteSizeLong(),
                       " bytes as a frame) is larger than a worker accepts (",
                       options_.max_frame_bytes, " bytes)"));
    }
    conn->builds[pending.id] = &pending;
    // The bundle (up to 256 MiB) is serialized when its write starts: after
    // the lock is released, not under it. (The connection may die meanwhile:
    // Kill marks the build lost.)
    TurnBatch::Begin();
    conn->outbox.Push(std::move(frame));
    mu_.Unlock();
    TurnBatch::End();
    mu_.Lock();
    mu_.AwaitWithDeadline(absl::Condition(&pending.done), deadline);
    if (!pending.done) {
      auto it = connections_.find(pending.connection);
      if (it != connections_.end()) it->second->builds.erase(pending.id);
      return absl::DeadlineExceededError(
          absl::StrCat("the snapshot build did not finish within ", absl::FormatDuration(timeout)));
    }
    if (pending.lost) {
      excluded.insert(pending.connection);
      last_problem = "the building worker was lost";
      continue;
    }
    if (pending.result.has_error() && absl::StrContains(pending.result.error(), kBuilderBusy)) {
      auto it = connections_.find(pending.connection);
      if (it != connections_.end() && it->second->loads.empty() &&
          busy_retries++ < kMaxBusyRetries) {
        // A worker given no function holds isolates only while it warms up,
        // right after registering: ask it again shortly.
        --attempt;
        mu_.Unlock();
        absl::SleepFor(kBusyRetryDelay);
        mu_.Lock();
        continue;
      }
      if (it != connections_.end()) {
        it->second->can_build = false;
        Log("fleet", absl::StrCat("worker ", it->second->worker_id,
                                  " cannot build while it holds isolates; building elsewhere"));
      }
      excluded.insert(pending.connection);
      last_problem = "every worker holds live isolates and cannot build (run a build-only worker)";
      continue;
    }
    return std::move(pending.result);
  }
  return absl::UnavailableError(last_problem);
}

void Fleet::Drain(absl::Duration deadline) {
  Deferred deferred;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    for (const auto& [id, conn] : connections_) {
      if (conn->state != Connection::State::kLive) continue;
      conn->state = Connection::State::kDraining;
      v1::SchedulerFrame frame;
      frame.mutable_drain()->set_deadline_ms(
          static_cast<uint32_t>(absl::ToInt64Milliseconds(deadline)));
      conn->outbox.Push(std::move(frame));
    }
    auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return connections_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&empty), deadline)) {
      std::vector<Connection*> left;
      for (const auto& [id, conn] : connections_) left.push_back(conn);
      for (Connection* conn : left) Kill(*conn, "the drain deadline passed", deferred);
    }
  }
  RunDeferred(deferred);
}

void Fleet::Stop() {
  Deferred deferred;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      std::vector<Connection*> left;
      for (const auto& [id, conn] : connections_) left.push_back(conn);
      for (Connection* conn : left) Kill(*conn, "the scheduler stopped", deferred);
    }
  }
  RunDeferred(deferred);
  if (monitor_.joinable()) monitor_.join();
  for (std::thread& loader : loaders_) {
    if (loader.joinable()) loader.join();
  }
}

}  // namespace kiln::scheduler
