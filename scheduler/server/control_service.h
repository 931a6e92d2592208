// ControlService: kiln.v1.Control over gRPC, what the kiln CLI and SDK call.
// A thin layer: authenticates the call (Authenticator), checks the request's
// tenant against the token's, maps proto <-> SchedulerCore types and
// absl::Status <-> grpc::Status. TailLogs streams from the LogHub.
#pragma once

#include <grpcpp/grpcpp.h>

#include "kiln/v1/control.grpc.pb.h"
#include "scheduler/server/auth.h"
#include "scheduler/server/log_hub.h"
#include "scheduler/server/scheduler_core.h"

namespace kiln::scheduler {

// Runs on gRPC's sync server threads (one per call in progress). Every RPC:
// Unauthenticated without a valid "authorization: Bearer <token>";
// PermissionDenied when the request names a tenant other than the token's
// (an empty `tenant` means the token's). Then each RPC's own codes, as
// SchedulerCore documents them.
class ControlService final : public kiln::v1::Control::Service {
 public:
  // Everything borrowed outlives the service.
  ControlService(SchedulerCore& core, Authenticator& auth, LogHub& logs)
      : core_(core), auth_(auth), logs_(logs) {}

  grpc::Status Deploy(grpc::ServerContext* context, const kiln::v1::DeployRequest* request,
                      kiln::v1::DeployResponse* response) override;
  // Reassembles the chunks into a DeployRequest (at most kMaxUploadBytes;
  // InvalidArgument when they do not add up to one), then as Deploy.
  grpc::Status DeployUpload(grpc::ServerContext* context,
                            grpc::ServerReader<kiln::v1::DeployChunk>* reader,
                            kiln::v1::DeployResponse* response) override;
  grpc::Status GetFunction(grpc::ServerContext* context,
                           const kiln::v1::GetFunctionRequest* request,
                           kiln::v1::FunctionInfo* response) override;
  grpc::Status ListFunctions(grpc::ServerContext* context,
                             const kiln::v1::ListFunctionsRequest* request,
                             kiln::v1::ListFunctionsResponse* response) override;
  grpc::Status ListVersions(grpc::ServerContext* context,
                            const kiln::v1::ListVersionsRequest* request,
                            kiln::v1::ListVersionsResponse* response) override;
  grpc::Status Rollback(grpc::ServerContext* context, const kiln::v1::RollbackRequest* request,
                        kiln::v1::FunctionInfo* response) override;
  grpc::Status DeleteFunction(grpc::ServerContext* context,
                              const kiln::v1::DeleteFunctionRequest* request,
                              kiln::v1::DeleteFunctionResponse* response) override;
  // Waits for the invocation's answer (Invoker::Invoke) on this thread.
  grpc::Status Invoke(grpc::ServerContext* context, const kiln::v1::InvokeRequest* request,
                      kiln::v1::InvokeResponse* response) override;
  // Sends up to `backlog` recent entries, then with `follow` every new one
  // until the client cancels or the scheduler shuts down. NotFound for a
  // named function that does not exist.
  grpc::Status TailLogs(grpc::ServerContext* context, const kiln::v1::TailLogsRequest* request,
                        grpc::ServerWriter<kiln::v1::LogEntry>* writer) override;
  grpc::Status SetSecret(grpc::ServerContext* context, const kiln::v1::SetSecretRequest* request,
                         kiln::v1::SetSecretResponse* response) override;
  grpc::Status ListSecrets(grpc::ServerContext* context,
                           const kiln::v1::ListSecretsRequest* request,
                           kiln::v1::ListSecretsResponse* response) override;
  grpc::Status DeleteSecret(grpc::ServerContext* context,
                            const kiln::v1::DeleteSecretRequest* request,
                            kiln::v1::DeleteSecretResponse* response) override;

  // The largest serialized DeployRequest DeployUpload accepts: a 10 MiB bundle
  // with room for its paths and config.
  static constexpr uint64_t kMaxUploadBytes = 16 << 20;

 private:
  grpc::Status DoDeploy(const std::string& tenant, const kiln::v1::DeployRequest& request,
                        kiln::v1::DeployResponse* response);
  // The tenant the call acts for, after authentication.
  absl::StatusOr<std::string> Tenant(grpc::ServerContext* context, const std::string& requested);

  SchedulerCore& core_;
  Authenticator& auth_;
  LogHub& logs_;
};

}  // namespace kiln::scheduler
