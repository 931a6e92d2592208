// The in-memory fake of kiln.v1.Control (fake_control.h).
#include "sdk/testing/fake_control.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sdk/client/endpoint.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk::testing {
namespace {

// Versions are stamped from a fixed clock so test output is stable.
constexpr int64_t kEpochMs = 1700000000000;  // 2023-11-14 22:13:20 UTC

grpc::Status NotFound(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("function \"", name, "\" not found"));
}

}  // namespace

std::string FakeToken(const std::string& tenant, char digit) {
  return absl::StrCat("kiln_", tenant, "_", std::string(64, digit));
}

FakeControl::FakeControl(std::string token, std::string base_domain, int http_port)
    : token_(std::move(token)),
      tenant_(TenantFromToken(token_).value_or("default")),
      base_domain_(std::move(base_domain)),
      http_port_(http_port) {}

void FakeControl::SetBuildError(std::string message) {
  absl::MutexLock lock(&mu_);
  build_error_ = std::move(message);
}

void FakeControl::AddLog(kiln::v1::LogEntry entry) {
  absl::MutexLock lock(&mu_);
  logs_.push_back(std::move(entry));
}

std::vector<kiln::v1::DeployRequest> FakeControl::deploys() const {
  absl::MutexLock lock(&mu_);
  return deploys_;
}

void FakeControl::EndFollowers() {
  absl::MutexLock lock(&mu_);
  end_followers_ = true;
}

std::optional<std::string> FakeControl::secret(const std::string& tenant,
                                               const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto tenant_it = secrets_.find(tenant);
  if (tenant_it == secrets_.end()) return std::nullopt;
  auto it = tenant_it->second.find(name);
  if (it == tenant_it->second.end()) return std::nullopt;
  return it->second;
}

int FakeControl::last_upload_chunks() const {
  absl::MutexLock lock(&mu_);
  return last_upload_chunks_;
}

grpc::Status FakeControl::Authorize(grpc::ServerContext* context, const std::string& tenant) const {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no authorization metadata");
  }
  std::string value(it->second.data(), it->second.size());
  if (value != absl::StrCat("Bearer ", token_)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid token");
  }
  if (tenant != tenant_) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("the token is not valid for tenant \"", tenant, "\""));
  }
  return grpc::Status::OK;
}

std::string FakeControl::Url(const std::string& tenant, const std::string& name) const {
  return absl::StrCat("http://", name, ".", tenant, ".", base_domain_, ":", http_port_, "/");
}

FakeControl::Function* FakeControl::Find(const std::string& tenant, const std::string& name) {
  auto it = functions_.find(absl::StrCat(tenant, "/", name));
  return it == functions_.end() ? nullptr : &it->second;
}

kiln::v1::FunctionInfo FakeControl::Info(const std::string& tenant, const std::string& name,
                                         const Function& function) const {
  kiln::v1::FunctionInfo info;
  info.set_tenant(tenant);
  info.set_name(name);
  info.set_active_version(function.active);
  info.set_url(Url(tenant, name));
  for (const kiln::v1::VersionInfo& version : function.versions) {
    if (version.version() == function.active) *info.mutable_active() = version;
  }
  return info;
}

const kiln::v1::VersionInfo& FakeControl::AddVersion(Function& function,
                                                     const kiln::v1::FunctionConfig& config,
                                                     const std::string& sha256) {
  kiln::v1::VersionInfo version;
  version.set_version(function.next++);
  version.set_bundle_sha256(
      !sha256.empty() ? sha256 : std::string(64, '0' + static_cast<char>(version.version() % 10)));
  version.set_created_ms(kEpochMs + static_cast<int64_t>(version.version()) * 60000);
  *version.mutable_config() = config;
  function.versions.push_back(version);
  function.active = version.version();
  return function.versions.back();
}

grpc::Status FakeControl::CheckSecretsSet(const std::string& tenant,
                                          const kiln::v1::FunctionConfig& config) const {
  auto set = secrets_.find(tenant);
  for (const std::string& name : config.secret_names()) {
    if (set == secrets_.end() || !set->second.contains(name)) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("secret \"", name, "\" is not set in tenant \"", tenant,
                                       "\"; set it before deploying or activating a version "
                                       "that binds it"));
    }
  }
  return grpc::Status::OK;
}

std::vector<std::string> FakeControl::Binders(const std::string& tenant,
                                              const std::string& name) const {
  std::vector<std::string> binders;
  for (const auto& [key, function] : functions_) {
    std::pair<std::string, std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
    if (parts.first != tenant) continue;
    for (const kiln::v1::VersionInfo& version : function.versions) {
      if (version.version() != function.active) continue;
      const auto& names = version.config().secret_names();
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        binders.push_back(parts.second);
      }
    }
  }
  return binders;
}

grpc::Status FakeControl::Deploy(grpc::ServerContext* context,
                                 const kiln::v1::DeployRequest* request,
                                 kiln::v1::DeployResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  return DeployLocked(*request, response);
}

grpc::Status FakeControl::DeployUpload(grpc::ServerContext* context,
                                       grpc::ServerReader<kiln::v1::DeployChunk>* reader,
                                       kiln::v1::DeployResponse* response) {
  std::string bytes;
  uint64_t total = 0;
  int chunks = 0;
  kiln::v1::DeployChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunks++ == 0) total = chunk.total_bytes();
    bytes.append(chunk.data());
  }
  kiln::v1::DeployRequest request;
  if (total == 0 || bytes.size() != total || !request.ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the upload does not add up");
  }
  if (grpc::Status auth = Authorize(context, request.tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  last_upload_chunks_ = chunks;
  return DeployLocked(request, response);
}

grpc::Status FakeControl::DeployLocked(const kiln::v1::DeployRequest& request,
                                       kiln::v1::DeployResponse* response) {
  deploys_.push_back(request);
  if (!build_error_.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, build_error_);
  }
  for (const kiln::v1::BundleFile& file : request.bundle().files()) {
    size_t at = file.content().find("!!!");
    if (at == std::string::npos) continue;
    size_t line_start = file.content().rfind('\n', at);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    int line =
        1 + static_cast<int>(std::count(file.content().begin(), file.content().begin() + at, '\n'));
    int column = 1 + static_cast<int>(at - line_start);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("build failed: ", file.path(), ":", line, ":", column,
                                     ": SyntaxError: Unexpected token '!'"));
  }
  if (grpc::Status secrets = CheckSecretsSet(request.tenant(), request.config()); !secrets.ok()) {
    return secrets;
  }
  Function& function = functions_[absl::StrCat(request.tenant(), "/", request.name())];
  const kiln::v1::VersionInfo& version = AddVersion(function, request.config());
  response->set_version(version.version());
  response->set_url(Url(request.tenant(), request.name()));
  response->set_bundle_sha256(version.bundle_sha256());
  response->set_build_ms(12);
  return grpc::Status::OK;
}

grpc::Status FakeControl::GetFunction(grpc::ServerContext* context,
                                      const kiln::v1::GetFunctionRequest* request,
                                      kiln::v1::FunctionInfo* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  Function* function = Find(request->tenant(), request->name());
  if (function == nullptr) return NotFound(request->name());
  *response = Info(request->tenant(), request->name(), *function);
  return grpc::Status::OK;
}

grpc::Status FakeControl::ListFunctions(grpc::ServerContext* context,
                                        const kiln::v1::ListFunctionsRequest* request,
                                        kiln::v1::ListFunctionsResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, function] : functions_) {
    std::pair<std::string, std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
    if (parts.first != request->tenant()) continue;
    *response->add_functions() = Info(parts.first, parts.second, function);
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::ListVersions(grpc::ServerContext* context,
                                       const kiln::v1::ListVersionsRequest* request,
                                       kiln::v1::ListVersionsResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  Function* function = Find(request->tenant(), request->name());
  if (function == nullptr) return NotFound(request->name());
  // Oldest first, as the real scheduler answers.
  for (const kiln::v1::VersionInfo& version : function->versions)
    *response->add_versions() = version;
  response->set_active_version(function->active);
  return grpc::Status::OK;
}

grpc::Status FakeControl::Rollback(grpc::ServerContext* context,
                                   const kiln::v1::RollbackRequest* request,
                                   kiln::v1::FunctionInfo* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  Function* function = Find(request->tenant(), request->name());
  if (function == nullptr) return NotFound(request->name());
  uint64_t target = request->to_version();
  if (target == 0) {
    for (const kiln::v1::VersionInfo& version : function->versions) {
      if (version.version() < function->active) target = version.version();
    }
    if (target == 0) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("\"", request->name(), "\" has no version before ", function->active));
    }
  }
  bool exists = false;
  for (const kiln::v1::VersionInfo& version : function->versions) {
    exists = exists || version.version() == target;
  }
  if (!exists) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("\"", request->name(), "\" has no version ", target));
  }
  for (const kiln::v1::VersionInfo& version : function->versions) {
    if (version.version() != target) continue;
    if (grpc::Status secrets = CheckSecretsSet(request->tenant(), version.config());
        !secrets.ok()) {
      return secrets;
    }
  }
  function->active = target;
  *response = Info(request->tenant(), request->name(), *function);
  return grpc::Status::OK;
}

grpc::Status FakeControl::DeleteFunction(grpc::ServerContext* context,
                                         const kiln::v1::DeleteFunctionRequest* request,
                                         kiln::v1::DeleteFunctionResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  if (functions_.erase(absl::StrCat(request->tenant(), "/", request->name())) == 0) {
    return NotFound(request->name());
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::Invoke(grpc::ServerContext* context,
                                 const kiln::v1::InvokeRequest* request,
                                 kiln::v1::InvokeResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  Function* function = Find(request->tenant(), request->name());
  if (function == nullptr) return NotFound(request->name());
  const uint64_t number = ++requests_;
  response->set_request_id(absl::StrCat("req-", number));
  response->set_version(request->version() != 0 ? request->version() : function->active);
  kiln::v1::InvocationResult* result = response->mutable_result();
  result->set_cpu_us(420);
  result->set_wall_us(1500);
  result->set_cold(number == 1);
  std::string path = "/";
  if (request->event().has_http()) {
    const kiln::v1::HttpRequest& http = request->event().http();
    absl::string_view url = http.url();
    size_t scheme = url.find("://");
    size_t slash = url.find('/', scheme == absl::string_view::npos ? 0 : scheme + 3);
    path = slash == absl::string_view::npos ? "/" : std::string(url.substr(slash));
    int code = 0;
    if (absl::StartsWith(path, "/status/") && absl::SimpleAtoi(path.substr(8), &code)) {
      result->mutable_http()->set_status(code);
      kiln::v1::Header* header = result->mutable_http()->add_headers();
      header->set_name("content-type");
      header->set_value("text/plain");
      result->mutable_http()->set_body(absl::StrCat("status ", code, "\n"));
    } else if (path == "/cpu") {
      result->mutable_error()->set_kind(kiln::v1::InvocationError::CPU_LIMIT);
      result->mutable_error()->set_message("cpu limit exceeded");
    } else if (path == "/throw") {
      result->mutable_error()->set_kind(kiln::v1::InvocationError::EXCEPTION);
      result->mutable_error()->set_message("Error: boom");
      result->mutable_error()->set_stack("Error: boom\n    at Object.fetch (index.js:3:11)");
    } else {
      nlohmann::json headers = nlohmann::json::object();
      for (const kiln::v1::Header& header : http.headers()) headers[header.name()] = header.value();
      nlohmann::json echo = {{"method", http.method()},
                             {"url", http.url()},
                             {"headers", headers},
                             {"body", http.body()}};
      result->mutable_http()->set_status(200);
      kiln::v1::Header* header = result->mutable_http()->add_headers();
      header->set_name("content-type");
      header->set_value("application/json");
      result->mutable_http()->set_body(
          echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    kiln::v1::LogEntry entry;
    entry.set_timestamp_ms(kEpochMs + static_cast<int64_t>(number) * 1000);
    entry.set_level(kiln::v1::LogEntry::LOG);
    entry.set_message(absl::StrCat(http.method(), " ", path));
    entry.set_request_id(response->request_id());
    entry.set_tenant(request->tenant());
    entry.set_function(request->name());
    entry.set_version(response->version());
    entry.set_cold(result->cold());
    logs_.push_back(entry);
  } else if (request->event().has_scheduled()) {
    result->set_scheduled_ok(true);
  } else if (request->event().has_queue()) {
    for (const kiln::v1::QueueMessage& message : request->event().queue().messages()) {
      kiln::v1::QueueMessageOutcome* outcome = result->mutable_queue()->add_outcomes();
      outcome->set_id(message.id());
      outcome->set_kind(kiln::v1::QueueMessageOutcome::ACK);
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::TailLogs(grpc::ServerContext* context,
                                   const kiln::v1::TailLogsRequest* request,
                                   grpc::ServerWriter<kiln::v1::LogEntry>* writer) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  auto matches = [&](const kiln::v1::LogEntry& entry) {
    return entry.tenant() == request->tenant() &&
           (request->name().empty() || entry.function() == request->name());
  };
  size_t sent = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!request->name().empty() && Find(request->tenant(), request->name()) == nullptr) {
      return NotFound(request->name());
    }
    std::vector<kiln::v1::LogEntry> backlog;
    for (const kiln::v1::LogEntry& entry : logs_) {
      if (matches(entry)) backlog.push_back(entry);
    }
    size_t first = backlog.size() > request->backlog() ? backlog.size() - request->backlog() : 0;
    for (size_t i = first; i < backlog.size(); ++i) writer->Write(backlog[i]);
    sent = logs_.size();
  }
  if (!request->follow()) return grpc::Status::OK;
  while (!context->IsCancelled()) {
    std::vector<kiln::v1::LogEntry> fresh;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return logs_.size() > sent || end_followers_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(50));
      if (end_followers_) return grpc::Status::OK;
      for (; sent < logs_.size(); ++sent) {
        if (matches(logs_[sent])) fresh.push_back(logs_[sent]);
      }
    }
    for (const kiln::v1::LogEntry& entry : fresh) {
      if (!writer->Write(entry)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::SetSecret(grpc::ServerContext* context,
                                    const kiln::v1::SetSecretRequest* request,
                                    kiln::v1::SetSecretResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  if (absl::Status valid = CheckSecret(request->name(), request->value()); !valid.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(valid.message()));
  }
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string>& secrets = secrets_[request->tenant()];
  auto it = secrets.find(request->name());
  response->set_created(it == secrets.end());
  if (it != secrets.end() && it->second == request->value()) {
    response->set_unchanged(true);
    return grpc::Status::OK;
  }
  secrets[request->name()] = request->value();
  for (const std::string& name : Binders(request->tenant(), request->name())) {
    Function& function = functions_[absl::StrCat(request->tenant(), "/", name)];
    kiln::v1::VersionInfo active;
    for (const kiln::v1::VersionInfo& version : function.versions) {
      if (version.version() == function.active) active = version;
    }
    AddVersion(function, active.config(), active.bundle_sha256());
    *response->add_redeployed() = Info(request->tenant(), name, function);
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::ListSecrets(grpc::ServerContext* context,
                                      const kiln::v1::ListSecretsRequest* request,
                                      kiln::v1::ListSecretsResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  auto tenant = secrets_.find(request->tenant());
  if (tenant == secrets_.end()) return grpc::Status::OK;
  for (const auto& [name, value] : tenant->second) {
    kiln::v1::SecretInfo* info = response->add_secrets();
    info->set_name(name);
    for (std::string& binder : Binders(request->tenant(), name)) info->add_bound_by(binder);
  }
  return grpc::Status::OK;
}

grpc::Status FakeControl::DeleteSecret(grpc::ServerContext* context,
                                       const kiln::v1::DeleteSecretRequest* request,
                                       kiln::v1::DeleteSecretResponse* response) {
  if (grpc::Status auth = Authorize(context, request->tenant()); !auth.ok()) return auth;
  absl::MutexLock lock(&mu_);
  std::vector<std::string> binders = Binders(request->tenant(), request->name());
  if (!binders.empty()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("secret \"", request->name(), "\" is bound by ", absl::StrJoin(binders, ", "),
                     "; remove it from their secrets and deploy them first"));
  }
  auto tenant = secrets_.find(request->tenant());
  if (tenant == secrets_.end() || tenant->second.erase(request->name()) == 0) {
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("tenant \"", request->tenant(), "\" has no secret \"", request->name(), "\""));
  }
  return grpc::Status::OK;
}

std::unique_ptr<FakeControlServer> FakeControlServer::Start(FakeControl* service,
                                                            const std::string& address) {
  std::unique_ptr<FakeControlServer> server(new FakeControlServer());
  server->service_ = service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) return nullptr;
  std::string host = address.substr(0, address.rfind(':'));
  server->address_ = absl::StrCat(host, ":", port);
  return server;
}

FakeControlServer::~FakeControlServer() { Shutdown(); }

void FakeControlServer::Shutdown() {
  if (server_ == nullptr) return;
  service_->EndFollowers();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_.reset();
}

}  // namespace kiln::sdk::testing
