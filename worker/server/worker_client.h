// The worker's side of kiln.v1.Worker/Connect: one long-lived bidirectional
// stream to the scheduler. Registers, then serves the scheduler's frames
// (build, load, unload, invoke, drain) on a WorkerRuntime, and streams back
// results, log batches and heartbeats. Frames are written by one writer
// thread, so executors never block on the network.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
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

// Collects log lines from executors until the writer sends them.
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
  // Queues `frame` for the writer thread. Thread-safe.
  void Send(v1::WorkerFrame frame);
  // End of an executor's loop iteration: wakes the writer for the frames
  // this thread queued meanwhile.
  void WakeWriter();
  void WriterMain();
  void BuilderMain();
  void Dispatch(v1::SchedulerFrame& frame);
  // On Drain: refuses new invocations and starts drainer_.
  void StartDrain(const v1::Drain& drain);
  // The drainer thread: waits (until `deadline`) for in-flight invocations
  // and open streamed bodies, lets the writer flush, then closes this side
  // of the stream.
  void DrainMain(absl::Time deadline);
  void HandleInvoke(const v1::Invoke& invoke);
  void HandleLoad(const v1::LoadFunction& load);
  void FillHeartbeat(v1::Heartbeat* heartbeat);

  WorkerRuntime& runtime_;
  StreamLogSink& logs_;
  const WorkerClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::WorkerFrame, v1::SchedulerFrame>> stream_;
  absl::Duration heartbeat_interval_ = absl::Seconds(1);

  absl::Mutex mu_;
  std::deque<v1::WorkerFrame> outbox_ ABSL_GUARDED_BY(mu_);
  // The writer has frames to send now (frames queued on executor threads
  // are announced at the end of their loop iteration).
  bool announced_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::BuildSnapshot> builds_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // Streamed bodies whose head was answered and whose end is not sent yet.
  std::atomic<int> open_bodies_{0};
  std::thread writer_;
  std::thread builder_;
  std::thread drainer_;
};

}  // namespace kiln::worker::server
