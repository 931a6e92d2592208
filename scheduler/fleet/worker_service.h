// WorkerService: kiln.v1.Worker over gRPC's callback API. A thin adapter:
// each Connect call becomes a reactor that hands the Fleet each frame as it
// arrives (on a gRPC thread) and writes the frames the Fleet queues (on the
// queuing thread), so a request costs no hop through a thread of our own.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "kiln/v1/worker.grpc.pb.h"
#include "scheduler/fleet/fleet.h"

namespace kiln::scheduler {

// Whether a gRPC peer ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", ...) is on
// this host's loopback.
bool IsLoopbackPeer(absl::string_view peer);

// Registered on the scheduler's gRPC server beside the Control service. The
// Fleet outlives it (the server is shut down first).
//
// A worker stream carries tenants' code, snapshots and secrets, and kiln-worker
// presents no credential (its Register has none), so by default only workers
// on this host's loopback are accepted; `allow_remote` (kiln-scheduler
// --allow-remote-workers) accepts any peer that can reach the port: bind the
// API to a private network then.
class WorkerService final : public kiln::v1::Worker::CallbackService {
 public:
  explicit WorkerService(Fleet& fleet, bool allow_remote = false)
      : fleet_(fleet), allow_remote_(allow_remote) {}

  // The stream's reactor; its final status tells a refused worker why.
  grpc::ServerBidiReactor<kiln::v1::WorkerFrame, kiln::v1::SchedulerFrame>* Connect(
      grpc::CallbackServerContext* context) override;

 private:
  Fleet& fleet_;
  const bool allow_remote_;
};

}  // namespace kiln::scheduler
