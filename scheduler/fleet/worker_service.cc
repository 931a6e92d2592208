// WorkerService: GrpcWorkerStream adapts the sync gRPC stream to WorkerStream.
#include "scheduler/fleet/worker_service.h"

#include <string>

#include "scheduler/util/grpc_status.h"

namespace kiln::scheduler {
namespace {

class GrpcWorkerStream final : public WorkerStream {
 public:
  GrpcWorkerStream(grpc::ServerContext* context,
                   grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream)
      : context_(context), stream_(stream) {}

  bool Read(v1::WorkerFrame* frame) override { return stream_->Read(frame); }
  bool Write(const v1::SchedulerFrame& frame) override { return stream_->Write(frame); }
  void Cancel() override { context_->TryCancel(); }
  std::string peer() const override { return context_->peer(); }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* const stream_;
};

}  // namespace

grpc::Status WorkerService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::SchedulerFrame, v1::WorkerFrame>* stream) {
  GrpcWorkerStream adapter(context, stream);
  return ToGrpcStatus(fleet_.Serve(adapter));
}

}  // namespace kiln::scheduler
