// WorkerService: each kiln.v1.Worker/Connect stream as a gRPC callback
// reactor that feeds the Fleet's stream events (no thread per stream).
#include "scheduler/fleet/worker_service.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "scheduler/util/grpc_status.h"
#include "scheduler/util/log.h"

namespace kiln::scheduler {
namespace {

// One worker's stream. Reads one frame at a time into the Fleet; writes what
// the Fleet starts. Deletes itself once gRPC is done with the call (OnDone),
// which follows the Fleet's Release and Finish.
class ConnectReactor final : public grpc::ServerBidiReactor<v1::WorkerFrame, v1::SchedulerFrame>,
                             public WorkerStream {
 public:
  ConnectReactor(Fleet& fleet, grpc::CallbackServerContext* context)
      : fleet_(fleet), context_(context), peer_(context->peer()) {
    conn_ = fleet_.Open(this);
    StartRead(&frame_);
  }

  // ---- gRPC's side ----
  void OnReadDone(bool ok) override {
    if (!ok) {
      fleet_.OnReadsEnded(conn_);
      return;
    }
    if (fleet_.OnFrame(conn_, frame_)) {
      frame_.Clear();
      StartRead(&frame_);
    }
  }
  void OnWriteDone(bool ok) override { fleet_.OnWriteDone(conn_, ok); }
  void OnDone() override { delete this; }

  // ---- the Fleet's side ----
  void StartWrite(const v1::SchedulerFrame& frame) override {
    ServerBidiReactor::StartWrite(&frame);
  }
  void Cancel() override { context_->TryCancel(); }
  void Release(absl::Status status) override { Finish(ToGrpcStatus(status)); }
  std::string peer() const override { return peer_; }

 private:
  Fleet& fleet_;
  grpc::CallbackServerContext* const context_;
  const std::string peer_;
  Fleet::Connection* conn_ = nullptr;
  v1::WorkerFrame frame_;
};

// Answers a refused stream with `status` at once.
class RefusedReactor final : public grpc::ServerBidiReactor<v1::WorkerFrame, v1::SchedulerFrame> {
 public:
  explicit RefusedReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

bool IsLoopbackPeer(absl::string_view peer) {
  return absl::StartsWith(peer, "ipv4:127.") || absl::StartsWith(peer, "ipv6:[::1]:") ||
         absl::StartsWith(peer, "ipv6:[::ffff:127.") || absl::StartsWith(peer, "unix:");
}

grpc::ServerBidiReactor<v1::WorkerFrame, v1::SchedulerFrame>* WorkerService::Connect(
    grpc::CallbackServerContext* context) {
  if (!allow_remote_ && !IsLoopbackPeer(context->peer())) {
    Log("fleet", absl::StrCat("refused a worker from ", context->peer(),
                              ": remote workers need kiln-scheduler --allow-remote-workers"));
    return new RefusedReactor(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                           "this scheduler accepts workers from its own host only "
                                           "(start it with --allow-remote-workers)"));
  }
  return new ConnectReactor(fleet_, context);
}

}  // namespace kiln::scheduler
