// WorkerService: kiln.v1.Worker over gRPC. A thin adapter: each Connect call
// becomes a GrpcWorkerStream served by the Fleet on the gRPC handler thread
// for the stream's lifetime (the Fleet adds one writer thread per stream).
#pragma once

#include <grpcpp/grpcpp.h>

#include "kiln/v1/worker.grpc.pb.h"
#include "scheduler/fleet/fleet.h"

namespace kiln::scheduler {

// Registered on the scheduler's gRPC server beside the Control service. The
// Fleet outlives it (the server is shut down first).
class WorkerService final : public kiln::v1::Worker::Service {
 public:
  explicit WorkerService(Fleet& fleet) : fleet_(fleet) {}

  // Serves the stream until it ends; the status tells a refused worker why.
  grpc::Status Connect(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<kiln::v1::SchedulerFrame, kiln::v1::WorkerFrame>* stream) override;

 private:
  Fleet& fleet_;
};

}  // namespace kiln::scheduler
