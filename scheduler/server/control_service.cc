// ControlService: proto mapping and the TailLogs loop.
#include "scheduler/server/control_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "scheduler/util/grpc_status.h"

namespace kiln::scheduler {
namespace {

// How often a following TailLogs checks whether its client went away.
constexpr absl::Duration kFollowPoll = absl::Milliseconds(200);

void ToProto(const VersionRecord& version, kiln::v1::VersionInfo* info) {
  info->set_version(version.version);
  info->set_bundle_sha256(version.bundle_sha256);
  info->set_created_ms(version.created_ms);
  *info->mutable_config() = version.config;
}

void ToProto(const FunctionView& view, kiln::v1::FunctionInfo* info) {
  info->set_tenant(view.function.tenant);
  info->set_name(view.function.name);
  info->set_active_version(view.function.active_version);
  info->set_url(view.url);
  ToProto(view.active, info->mutable_active());
}

}  // namespace

absl::StatusOr<std::string> ControlService::Tenant(grpc::ServerContext* context,
                                                   const std::string& requested) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view value;
  if (it != metadata.end()) value = absl::string_view(it->second.data(), it->second.size());
  absl::StatusOr<std::string> token_tenant = auth_.Authenticate(it != metadata.end(), value);
  if (!token_tenant.ok()) return token_tenant.status();
  return Authenticator::ActingTenant(*token_tenant, requested);
}

grpc::Status ControlService::DoDeploy(const std::string& tenant,
                                      const kiln::v1::DeployRequest& request,
                                      kiln::v1::DeployResponse* response) {
  absl::StatusOr<DeployOutcome> deployed =
      core_.Deploy(tenant, request.name(), request.bundle(), request.config());
  if (!deployed.ok()) return ToGrpcStatus(deployed.status());
  response->set_version(deployed->version.version);
  response->set_url(deployed->url);
  response->set_bundle_sha256(deployed->version.bundle_sha256);
  response->set_build_ms(deployed->build_ms);
  return grpc::Status::OK;
}

grpc::Status ControlService::Deploy(grpc::ServerContext* context,
                                    const kiln::v1::DeployRequest* request,
                                    kiln::v1::DeployResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return DoDeploy(*tenant, *request, response);
}

grpc::Status ControlService::DeployUpload(grpc::ServerContext* context,
                                          grpc::ServerReader<kiln::v1::DeployChunk>* reader,
                                          kiln::v1::DeployResponse* response) {
  // The token is checked before any byte is buffered.
  absl::StatusOr<std::string> token_tenant = Tenant(context, "");
  if (!token_tenant.ok()) return ToGrpcStatus(token_tenant.status());
  auto invalid = [](const std::string& message) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
  };
  std::string bytes;
  uint64_t total = 0;
  kiln::v1::DeployChunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      total = chunk.total_bytes();
      if (total == 0) return invalid("the first upload chunk must give total_bytes");
      if (total > kMaxUploadBytes) {
        return invalid(absl::StrCat("the deploy request is ", total, " bytes; at most ",
                                    kMaxUploadBytes, " are accepted (bundles up to 10 MiB)"));
      }
      bytes.reserve(total);
      first = false;
    } else if (chunk.total_bytes() != 0 && chunk.total_bytes() != total) {
      return invalid("an upload chunk changed total_bytes");
    }
    if (bytes.size() + chunk.data().size() > total) {
      return invalid(absl::StrCat("the upload is longer than the ", total, " bytes announced"));
    }
    bytes.append(chunk.data());
  }
  if (first) return invalid("the upload is empty");
  if (bytes.size() != total) {
    return invalid(absl::StrCat("the upload ended after ", bytes.size(), " of the ", total,
                                " bytes announced"));
  }
  kiln::v1::DeployRequest request;
  if (!request.ParseFromString(bytes)) {
    return invalid("the uploaded bytes are not a kiln.v1.DeployRequest");
  }
  absl::StatusOr<std::string> tenant = Tenant(context, request.tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return DoDeploy(*tenant, request, response);
}

grpc::Status ControlService::GetFunction(grpc::ServerContext* context,
                                         const kiln::v1::GetFunctionRequest* request,
                                         kiln::v1::FunctionInfo* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<FunctionView> view = core_.GetFunction(*tenant, request->name());
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response);
  return grpc::Status::OK;
}

grpc::Status ControlService::ListFunctions(grpc::ServerContext* context,
                                           const kiln::v1::ListFunctionsRequest* request,
                                           kiln::v1::ListFunctionsResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<std::vector<FunctionView>> views = core_.ListFunctions(*tenant);
  if (!views.ok()) return ToGrpcStatus(views.status());
  for (const FunctionView& view : *views) ToProto(view, response->add_functions());
  return grpc::Status::OK;
}

grpc::Status ControlService::ListVersions(grpc::ServerContext* context,
                                          const kiln::v1::ListVersionsRequest* request,
                                          kiln::v1::ListVersionsResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  uint64_t active = 0;
  absl::StatusOr<std::vector<VersionRecord>> versions =
      core_.ListVersions(*tenant, request->name(), &active);
  if (!versions.ok()) return ToGrpcStatus(versions.status());
  for (const VersionRecord& version : *versions) ToProto(version, response->add_versions());
  response->set_active_version(active);
  return grpc::Status::OK;
}

grpc::Status ControlService::Rollback(grpc::ServerContext* context,
                                      const kiln::v1::RollbackRequest* request,
                                      kiln::v1::FunctionInfo* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<FunctionView> view =
      core_.Rollback(*tenant, request->name(), request->to_version());
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response);
  return grpc::Status::OK;
}

grpc::Status ControlService::DeleteFunction(grpc::ServerContext* context,
                                            const kiln::v1::DeleteFunctionRequest* request,
                                            kiln::v1::DeleteFunctionResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return ToGrpcStatus(core_.DeleteFunction(*tenant, request->name()));
}

grpc::Status ControlService::Invoke(grpc::ServerContext* context,
                                    const kiln::v1::InvokeRequest* request,
                                    kiln::v1::InvokeResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::Notification done;
  absl::Status status;
  core_.Invoke({.tenant = *tenant,
                .function = request->name(),
                .version = request->version(),
                .event = request->event()},
               [&](absl::StatusOr<kiln::v1::InvokeResponse> answer) {
                 if (answer.ok()) {
                   *response = std::move(*answer);
                 } else {
                   status = answer.status();
                 }
                 done.Notify();
               });
  done.WaitForNotification();
  return ToGrpcStatus(status);
}

grpc::Status ControlService::TailLogs(grpc::ServerContext* context,
                                      const kiln::v1::TailLogsRequest* request,
                                      grpc::ServerWriter<kiln::v1::LogEntry>* writer) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  if (!request->name().empty() && !core_.HasFunction(*tenant, request->name())) {
    return ToGrpcStatus(absl::NotFoundError(
        absl::StrCat("function ", request->name(), " does not exist in tenant ", *tenant)));
  }
  std::vector<kiln::v1::LogEntry> recent;
  std::unique_ptr<LogHub::Subscription> subscription;
  if (request->follow()) {
    subscription = logs_.Follow(*tenant, request->name(), request->backlog(), &recent);
  } else {
    recent = logs_.Recent(*tenant, request->name(), request->backlog());
  }
  for (const kiln::v1::LogEntry& entry : recent) {
    if (!writer->Write(entry)) return grpc::Status::OK;
  }
  if (!subscription) return grpc::Status::OK;
  while (!context->IsCancelled()) {
    std::optional<std::vector<kiln::v1::LogEntry>> entries = subscription->Next(kFollowPoll);
    if (!entries) return grpc::Status::OK;  // shutting down
    if (uint64_t dropped = subscription->TakeDropped(); dropped > 0) {
      kiln::v1::LogEntry notice;
      notice.set_timestamp_ms(absl::ToUnixMillis(absl::Now()));
      notice.set_level(kiln::v1::LogEntry::WARN);
      notice.set_tenant(*tenant);
      notice.set_message(
          absl::StrCat("kiln: ", dropped, " log entries dropped (the reader fell behind)"));
      if (!writer->Write(notice)) return grpc::Status::OK;
    }
    for (const kiln::v1::LogEntry& entry : *entries) {
      if (!writer->Write(entry)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::SetSecret(grpc::ServerContext* context,
                                       const kiln::v1::SetSecretRequest* request,
                                       kiln::v1::SetSecretResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<SecretChange> change = core_.SetSecret(*tenant, request->name(), request->value());
  if (!change.ok()) return ToGrpcStatus(change.status());
  response->set_created(change->created);
  response->set_unchanged(change->unchanged);
  for (const FunctionView& view : change->redeployed) ToProto(view, response->add_redeployed());
  return grpc::Status::OK;
}

grpc::Status ControlService::ListSecrets(grpc::ServerContext* context,
                                         const kiln::v1::ListSecretsRequest* request,
                                         kiln::v1::ListSecretsResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  absl::StatusOr<std::vector<SecretView>> secrets = core_.ListSecrets(*tenant);
  if (!secrets.ok()) return ToGrpcStatus(secrets.status());
  for (const SecretView& secret : *secrets) {
    kiln::v1::SecretInfo* info = response->add_secrets();
    info->set_name(secret.name);
    for (const std::string& function : secret.bound_by) info->add_bound_by(function);
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::DeleteSecret(grpc::ServerContext* context,
                                          const kiln::v1::DeleteSecretRequest* request,
                                          kiln::v1::DeleteSecretResponse* response) {
  absl::StatusOr<std::string> tenant = Tenant(context, request->tenant());
  if (!tenant.ok()) return ToGrpcStatus(tenant.status());
  return ToGrpcStatus(core_.DeleteSecret(*tenant, request->name()));
}

}  // namespace kiln::scheduler
