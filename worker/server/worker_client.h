// The worker's side of kiln.v1.Worker/Connect: one long-lived bidirectional
// stream to the scheduler. Registers, then serves the scheduler's frames
// (build, load, unload, invoke, drain) on a WorkerRuntime, and streams back
// results, log batches and heartbeats. The stream is a gRPC callback reactor:
// frames are handled on the gRPC thread that read them, and a frame is
// written by the thread that queued it when no write is outstanding (else by
// the end of that write), so an answer leaves the executor without a hop
// through a thread of ours and executors never block on the network.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kiln/v1/worker.grpc.pb.h"
#include "worker/runtime/invocation.h"
#include "worker/runtime/runtime.h"

namespace kiln::worker::server {

// Collects log lines from executors until the next write takes them.
class StreamLogSink final : public LogSink {
 public:
  void OnLog(LogLine line) override;
  std::vector<LogLine> Take();

 private:
  absl::Mutex mu_;
  std::vector<LogLine> lines_ ABSL_GUARDED_BY(mu_);
};

struct WorkerClientOptions {
  std::string scheduler;  // HOST:PORT, for messages
  std::string worker_id;
  uint32_t max_concurrency = 64;
  uint64_t memory_budget_bytes = 0;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration log_flush = absl::Milliseconds(50);
  js::BuildOptions build;
  // The largest message the stream carries (the channel's limit): a result
  // that would not fit is answered RESPONSE_TOO_LARGE instead of breaking
  // the stream for every invocation on this worker.
  size_t max_frame_bytes = 256u << 20;
};

class WorkerClient {
 public:
  // `runtime` and `logs` (the runtime's sink) outlive the client.
  WorkerClient(WorkerRuntime& runtime, StreamLogSink& logs, WorkerClientOptions options);
  ~WorkerClient();
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;

  // Opens the Connect stream on `channel` (already connected to the
  // scheduler), sends Register and waits for RegisterAck. After this the
  // worker needs no new file or socket (the sandbox goes on here).
  // Unavailable when the scheduler cannot be reached or refuses.
  absl::Status Connect(std::shared_ptr<grpc::Channel> channel);

  // Serves frames until the scheduler drains this worker (OK) or the stream
  // breaks (Unavailable). A drain finishes in-flight invocations, streamed
  // bodies included, while frames (credit, cancels) are still served.
  absl::Status Serve();

 private:
  class StreamedBody;
  class Reactor;
  // Queues `frame`; writes it now when no write is outstanding.
  void Send(v1::WorkerFrame frame);
  // Starts a write of what is queued (log lines first) if none is
  // outstanding; ends this side of the stream once closing and all is sent.
  void MaybeWrite();
  // The reactor's events.
  void OnFrame(v1::SchedulerFrame& frame);
  void OnReadsEnded();
  void OnWriteDone(bool ok);
  void OnDone(const grpc::Status& status);
  // Lets the call end (see Reactor) once no write is outstanding or can start.
  void ReleaseHold();
  // Every log_flush: sends pending log lines; every heartbeat interval, a
  // heartbeat.
  void TickerMain();
  void BuilderMain();
  void Dispatch(v1::SchedulerFrame& frame);
  // On Drain: refuses new invocations and starts drainer_.
  void StartDrain(const v1::Drain& drain);
  // The drainer thread: waits (until `deadline`) for in-flight invocations
  // and open streamed bodies, then lets what is queued go out and closes this
  // side of the stream.
  void DrainMain(absl::Time deadline);
  void HandleInvoke(const v1::Invoke& invoke);
  void HandleLoad(const v1::LoadFunction& load);
  void FillHeartbeat(v1::Heartbeat* heartbeat);

  WorkerRuntime& runtime_;
  StreamLogSink& logs_;
  const WorkerClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  std::unique_ptr<Reactor> reactor_;
  absl::Duration heartbeat_interval_ = absl::Seconds(1);

  absl::Mutex mu_;
  std::deque<v1::WorkerFrame> outbox_ ABSL_GUARDED_BY(mu_);
  // The message being written; only the write's starter touches it until
  // OnWriteDone.
  v1::WorkerFrame writing_frame_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;   // a write failed: write no more
  bool closing_ ABSL_GUARDED_BY(mu_) = false;  // drained: end this side once all is sent
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool acked_ ABSL_GUARDED_BY(mu_) = false;        // RegisterAck arrived
  bool unexpected_first_frame_ ABSL_GUARDED_BY(mu_) = false;  // something else did
  bool reads_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> done_ ABSL_GUARDED_BY(mu_);  // OnDone's status
  std::deque<v1::BuildSnapshot> builds_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // Streamed bodies whose head was answered and whose end is not sent yet.
  std::atomic<int> open_bodies_{0};
  std::thread ticker_;
  std::thread builder_;
  std::thread drainer_;
};

}  // namespace kiln::worker::server
