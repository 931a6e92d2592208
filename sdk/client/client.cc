// Client: kiln.v1.Control over gRPC (client.h). The only place in sdk/ that
// turns grpc::Status into absl::Status.
#include "sdk/client/client.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "sdk/client/endpoint.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk {
namespace {

constexpr absl::string_view kUnreachablePayload = "type.kiln.dev/kiln.sdk.Unreachable";

// Largest message the client accepts: an invocation's response body, a
// function's configuration list. Requests are not capped client-side.
constexpr int kMaxReceiveBytes = 64 * 1024 * 1024;

absl::StatusCode ToAbslCode(grpc::StatusCode code) {
  // The two enums share their numbering (both are google.rpc.Code).
  return static_cast<absl::StatusCode>(static_cast<int>(code));
}

}  // namespace

bool IsUnreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable &&
         status.GetPayload(kUnreachablePayload).has_value();
}

absl::Status UnreachableError(absl::string_view message) {
  absl::Status status = absl::UnavailableError(message);
  status.SetPayload(kUnreachablePayload, absl::Cord("1"));
  return status;
}

LogStream::LogStream(const Client* client, absl::Duration timeout)
    : client_(client), timeout_(timeout) {}

LogStream::~LogStream() {
  if (!done_ && context_ != nullptr) {
    context_->TryCancel();
    if (reader_ != nullptr) reader_->Finish();
  }
}

void LogStream::Cancel() {
  cancelled_ = true;
  context_->TryCancel();
}

absl::StatusOr<std::optional<kiln::v1::LogEntry>> LogStream::Next() {
  if (done_) return std::nullopt;
  kiln::v1::LogEntry entry;
  if (reader_->Read(&entry)) return entry;
  done_ = true;
  grpc::Status status = reader_->Finish();
  if (status.ok() || cancelled_) return std::nullopt;
  return client_->FromGrpc(status, timeout_);
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  if (absl::Status valid = ValidateApiAddress(options.api); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad API address: ", valid.message()));
  }
  if (options.tenant.empty()) {
    options.tenant = TenantFromToken(options.token).value_or(std::string(kDefaultTenant));
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  args.SetMaxSendMessageSize(-1);
  client->channel_ =
      grpc::CreateCustomChannel(client->options_.api, grpc::InsecureChannelCredentials(), args);
  client->stub_ = kiln::v1::Control::NewStub(client->channel_);
  return client;
}

std::unique_ptr<grpc::ClientContext> Client::NewContext(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  if (timeout > absl::ZeroDuration()) {
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  }
  return context;
}

absl::Status Client::FromGrpc(const grpc::Status& status, absl::Duration timeout) const {
  if (status.ok()) return absl::OkStatus();
  const grpc::StatusCode code = status.error_code();
  const std::string& message = status.error_message();
  // A call that failed before reaching a server leaves the channel not READY;
  // an Unavailable answered by a live server (e.g. draining) leaves it READY.
  if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
    grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/false);
    if (state != GRPC_CHANNEL_READY) {
      return UnreachableError(
          absl::StrCat("cannot reach the Kiln API at ", options_.api, " (", message, ")"));
    }
  }
  if (code == grpc::StatusCode::DEADLINE_EXCEEDED && timeout > absl::ZeroDuration()) {
    return absl::DeadlineExceededError(absl::StrCat("the Kiln API at ", options_.api,
                                                    " did not answer within ",
                                                    absl::FormatDuration(timeout)));
  }
  return absl::Status(ToAbslCode(code), message);
}

absl::StatusOr<kiln::v1::DeployResponse> Client::Deploy(kiln::v1::DeployRequest request,
                                                        const UploadProgress& progress) {
  if (request.tenant().empty()) request.set_tenant(options_.tenant);
  KILN_RETURN_IF_ERROR(CheckDeployRequest(request));
  const std::string bytes = request.SerializeAsString();
  const uint64_t total = bytes.size();
  auto context = NewContext(options_.deploy_timeout);
  kiln::v1::DeployResponse response;
  std::unique_ptr<grpc::ClientWriter<kiln::v1::DeployChunk>> writer =
      stub_->DeployUpload(context.get(), &response);
  kiln::v1::DeployChunk chunk;
  for (uint64_t sent = 0; sent < total;) {
    const uint64_t size = std::min<uint64_t>(kUploadChunkBytes, total - sent);
    chunk.set_total_bytes(sent == 0 ? total : 0);
    chunk.set_data(bytes.substr(sent, size));
    // A failed write means the call is over (refused, or the link broke):
    // Finish says why.
    if (!writer->Write(chunk)) break;
    sent += size;
    if (progress) progress(sent, total);
  }
  writer->WritesDone();
  KILN_RETURN_IF_ERROR(FromGrpc(writer->Finish(), options_.deploy_timeout));
  return response;
}

absl::StatusOr<kiln::v1::FunctionInfo> Client::GetFunction(absl::string_view name) {
  kiln::v1::GetFunctionRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  auto context = NewContext(options_.call_timeout);
  kiln::v1::FunctionInfo response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->GetFunction(context.get(), request, &response), options_.call_timeout));
  return response;
}

absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> Client::ListFunctions() {
  kiln::v1::ListFunctionsRequest request;
  request.set_tenant(options_.tenant);
  auto context = NewContext(options_.call_timeout);
  kiln::v1::ListFunctionsResponse response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->ListFunctions(context.get(), request, &response), options_.call_timeout));
  return std::vector<kiln::v1::FunctionInfo>(response.functions().begin(),
                                             response.functions().end());
}

absl::StatusOr<kiln::v1::ListVersionsResponse> Client::ListVersions(absl::string_view name) {
  kiln::v1::ListVersionsRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  auto context = NewContext(options_.call_timeout);
  kiln::v1::ListVersionsResponse response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->ListVersions(context.get(), request, &response), options_.call_timeout));
  return response;
}

absl::StatusOr<kiln::v1::FunctionInfo> Client::Rollback(absl::string_view name,
                                                        uint64_t to_version) {
  kiln::v1::RollbackRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  request.set_to_version(to_version);
  auto context = NewContext(options_.call_timeout);
  kiln::v1::FunctionInfo response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->Rollback(context.get(), request, &response), options_.call_timeout));
  return response;
}

absl::Status Client::DeleteFunction(absl::string_view name) {
  kiln::v1::DeleteFunctionRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  auto context = NewContext(options_.call_timeout);
  kiln::v1::DeleteFunctionResponse response;
  return FromGrpc(stub_->DeleteFunction(context.get(), request, &response), options_.call_timeout);
}

absl::StatusOr<kiln::v1::InvokeResponse> Client::Invoke(absl::string_view name,
                                                        kiln::v1::InvocationEvent event,
                                                        uint64_t version) {
  kiln::v1::InvokeRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  request.set_version(version);
  *request.mutable_event() = std::move(event);
  auto context = NewContext(options_.invoke_timeout);
  kiln::v1::InvokeResponse response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->Invoke(context.get(), request, &response), options_.invoke_timeout));
  return response;
}

absl::StatusOr<kiln::v1::InvokeResponse> Client::InvokeHttp(absl::string_view name,
                                                            const HttpCall& call) {
  KILN_ASSIGN_OR_RETURN(kiln::v1::FunctionInfo function, GetFunction(name));
  std::string base = function.url();
  if (base.empty()) base = absl::StrCat("http://", name, ".", options_.tenant, ".localhost");
  absl::string_view trimmed = base;
  while (absl::ConsumeSuffix(&trimmed, "/")) {
  }
  const absl::string_view slash = absl::StartsWith(call.path, "/") ? "" : "/";
  const std::string path = absl::StrCat(slash, call.path);
  kiln::v1::InvocationEvent event;
  kiln::v1::HttpRequest* http = event.mutable_http();
  http->set_method(call.method.empty() ? "GET" : call.method);
  http->set_url(absl::StrCat(trimmed, path));
  for (const auto& [key, value] : call.headers) {
    kiln::v1::Header* header = http->add_headers();
    header->set_name(key);
    header->set_value(value);
  }
  http->set_body(call.body);
  return Invoke(name, std::move(event), call.version);
}

absl::StatusOr<kiln::v1::SetSecretResponse> Client::SetSecret(absl::string_view name,
                                                              absl::string_view value) {
  KILN_RETURN_IF_ERROR(CheckSecret(name, value));
  kiln::v1::SetSecretRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  request.set_value(std::string(value));
  // A change may give several functions a new version: a deploy's time.
  auto context = NewContext(options_.deploy_timeout);
  kiln::v1::SetSecretResponse response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->SetSecret(context.get(), request, &response), options_.deploy_timeout));
  return response;
}

absl::StatusOr<std::vector<kiln::v1::SecretInfo>> Client::ListSecrets() {
  kiln::v1::ListSecretsRequest request;
  request.set_tenant(options_.tenant);
  auto context = NewContext(options_.call_timeout);
  kiln::v1::ListSecretsResponse response;
  KILN_RETURN_IF_ERROR(
      FromGrpc(stub_->ListSecrets(context.get(), request, &response), options_.call_timeout));
  return std::vector<kiln::v1::SecretInfo>(response.secrets().begin(), response.secrets().end());
}

absl::Status Client::DeleteSecret(absl::string_view name) {
  KILN_RETURN_IF_ERROR(CheckSecretName(name));
  kiln::v1::DeleteSecretRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  auto context = NewContext(options_.call_timeout);
  kiln::v1::DeleteSecretResponse response;
  return FromGrpc(stub_->DeleteSecret(context.get(), request, &response), options_.call_timeout);
}

absl::StatusOr<std::unique_ptr<LogStream>> Client::TailLogs(absl::string_view name, bool follow,
                                                            uint32_t backlog) {
  kiln::v1::TailLogsRequest request;
  request.set_tenant(options_.tenant);
  request.set_name(std::string(name));
  request.set_follow(follow);
  request.set_backlog(backlog);
  const absl::Duration timeout = follow ? absl::ZeroDuration() : options_.call_timeout;
  std::unique_ptr<LogStream> stream(new LogStream(this, timeout));
  stream->context_ = NewContext(timeout);
  stream->reader_ = stub_->TailLogs(stream->context_.get(), request);
  return stream;
}

}  // namespace kiln::sdk
