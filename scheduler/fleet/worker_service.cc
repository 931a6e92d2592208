// WorkerService: GrpcWorkerStream adapts the sync gRPC stream to WorkerStream.
#include "scheduler/fleet/worker_service.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "scheduler/util/grpc_status.h"
#include "scheduler/util/log.h"

namespace kiln::scheduler {
namespace {

class GrpcWorkerStream final : public WorkerStream {
 public:
  GrpcWorkerStream(grpc::ServerContext* context,
                   grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream)
      : context_(context), stream_(stream) {}

  bool Read(v1::WorkerFrame* frame) override { return stream_->Read(frame); }
  bool Write(const v1::SchedulerFrame& frame, bool more) override {
    grpc::WriteOptions options;
    if (more) options.set_buffer_hint();
    return stream_->Write(frame, options);
  }
  void Cancel() override { context_->TryCancel(); }
  std::string peer() const override { return context_->peer(); }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* const stream_;
};

}  // namespace

bool IsLoopbackPeer(absl::string_view peer) {
  return absl::StartsWith(peer, "ipv4:127.") || absl::StartsWith(peer, "ipv6:[::1]:") ||
         absl::StartsWith(peer, "ipv6:[::ffff:127.") || absl::StartsWith(peer, "unix:");
}

grpc::Status WorkerService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream) {
  if (!allow_remote_ && !IsLoopbackPeer(context->peer())) {
    Log("fleet", absl::StrCat("refused a worker from ", context->peer(),
                              ": remote workers need kiln-scheduler --allow-remote-workers"));
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "this scheduler accepts workers from its own host only "
                        "(start it with --allow-remote-workers)");
  }
  GrpcWorkerStream adapter(context, stream);
  return ToGrpcStatus(fleet_.Serve(adapter));
}

}  // namespace kiln::scheduler
