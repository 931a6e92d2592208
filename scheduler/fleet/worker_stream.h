// WorkerStream: the scheduler's end of one kiln.v1.Worker/Connect stream, as
// the Fleet drives it. The transport (worker_service.cc: a gRPC callback
// reactor; fleet_test: an in-memory fake) reports what arrives through the
// Fleet's stream events (Fleet::Open, OnFrame, OnWriteDone, OnReadsEnded);
// the Fleet writes through this interface. Nothing blocks: a stream costs no
// thread of its own, and a frame is written by the thread that queued it.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "kiln/v1/worker.pb.h"

namespace kiln::scheduler {

class WorkerStream {
 public:
  virtual ~WorkerStream() = default;

  // Starts writing `frame`, which stays valid and unchanged until the
  // transport reports the write's end with Fleet::OnWriteDone (ok: the
  // transport took it; flow control may delay that while the worker does not
  // read). The Fleet keeps at most one write outstanding. OnWriteDone may be
  // called on any thread, including from inside StartWrite.
  virtual void StartWrite(const kiln::v1::SchedulerFrame& frame) = 0;

  // Breaks the stream from the scheduler's side: reads end (the transport
  // then calls Fleet::OnReadsEnded) and an outstanding write fails. Any
  // thread, any number of times, until Release.
  virtual void Cancel() = 0;

  // The Fleet is done with this stream (its reads ended, or it refused the
  // worker, and no write is outstanding) and never touches it again. The
  // transport ends the stream with `status`: OK, or why the worker was
  // refused. Called once: from inside one of the Fleet's stream events, or
  // where a deferred write start runs (TurnBatch::End).
  virtual void Release(absl::Status status) = 0;

  // The worker's address, for messages.
  virtual std::string peer() const = 0;
};

}  // namespace kiln::scheduler
