// WorkerStream: the scheduler's end of one kiln.v1.Worker/Connect stream, as
// the Fleet uses it. GrpcWorkerStream (worker_service.h) adapts a gRPC
// server stream; fleet_test drives the Fleet through an in-memory fake.
#pragma once

#include <string>

#include "kiln/v1/worker.pb.h"

namespace kiln::scheduler {

// One worker's bidirectional frame stream. One thread reads while another
// writes; Cancel may be called from any thread, any number of times.
class WorkerStream {
 public:
  virtual ~WorkerStream() = default;

  // Blocks for the worker's next frame. False once the stream has ended
  // (the worker closed it, the connection broke, or Cancel was called).
  virtual bool Read(kiln::v1::WorkerFrame* frame) = 0;

  // Blocks until the transport takes the frame (flow control may hold it
  // while the worker does not read). False once the stream is broken or
  // cancelled; the frame may or may not have reached the worker. `more`: the
  // caller has further frames to write at once, so the transport may hold
  // this one to send them together.
  virtual bool Write(const kiln::v1::SchedulerFrame& frame, bool more) = 0;

  // Ends the stream from the scheduler's side: a blocked or later Read or
  // Write returns false.
  virtual void Cancel() = 0;

  // The worker's address, for messages.
  virtual std::string peer() const = 0;
};

}  // namespace kiln::scheduler
