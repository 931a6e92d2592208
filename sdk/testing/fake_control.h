// A fake kiln.v1.Control: an in-memory scheduler API for tests of the client
// library and the CLI (and, wrapped in fake_scheduler_main.cc, of `kiln up` and
// `kiln dev`). It checks the bearer token like the real one, keeps functions
// and versions in memory, "builds" a bundle by looking for a marker, and
// answers invocations with canned results chosen by the request path.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "kiln/v1/control.grpc.pb.h"

namespace kiln::sdk::testing {

// A token of the real shape for `tenant`: "kiln_<tenant>_" + 64 hex digits.
std::string FakeToken(const std::string& tenant = "default", char digit = 'a');

// The service. Thread-safe (gRPC calls it from its own threads).
//
// Canned behaviour:
//  - Every call needs `authorization: Bearer <token>` (Unauthenticated
//    otherwise) and the token's tenant in the request (PermissionDenied).
//  - Deploy fails with InvalidArgument "build failed: <path>:<line>:<col>:
//    SyntaxError: Unexpected token '!'" when a bundle file holds the marker
//    "!!!" (at the marker), or with the message set by SetBuildError.
//  - Invoke of an HTTP request answers by path: "/status/<code>" that status;
//    "/cpu" a CPU_LIMIT error; "/throw" an EXCEPTION; anything else 200 with a
//    JSON echo of method, url, headers and body. Each invocation adds a log
//    entry "<METHOD> <path>".
//  - Functions unknown to the tenant are NotFound.
//  - Secrets behave as the real scheduler's (Control.SetSecret etc.): a
//    deploy binding an unset secret is FailedPrecondition; a changed value
//    gives each function whose active version binds it a new version; a bound
//    secret cannot be deleted. Values are checked as precheck.h's CheckSecret.
//  - DeployUpload reassembles its chunks and then answers as Deploy.
class FakeControl final : public kiln::v1::Control::Service {
 public:
  explicit FakeControl(std::string token, std::string base_domain = "localhost",
                       int http_port = 8080);

  // Makes every later Deploy fail with InvalidArgument(message); "" undoes it.
  void SetBuildError(std::string message);
  // Adds a log entry (for TailLogs); wakes followers.
  void AddLog(kiln::v1::LogEntry entry);
  // Every Deploy request received that passed the token check, in order.
  std::vector<kiln::v1::DeployRequest> deploys() const;
  // Ends every following TailLogs stream (they return OK).
  void EndFollowers();
  // The value of `tenant`'s secret `name`, if set.
  std::optional<std::string> secret(const std::string& tenant, const std::string& name) const;
  // How many DeployUpload chunks the last upload had.
  int last_upload_chunks() const;

  grpc::Status Deploy(grpc::ServerContext* context, const kiln::v1::DeployRequest* request,
                      kiln::v1::DeployResponse* response) override;
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
  grpc::Status Invoke(grpc::ServerContext* context, const kiln::v1::InvokeRequest* request,
                      kiln::v1::InvokeResponse* response) override;
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

 private:
  struct Function {
    std::vector<kiln::v1::VersionInfo> versions;
    uint64_t active = 0;
    uint64_t next = 1;
  };

  grpc::Status Authorize(grpc::ServerContext* context, const std::string& tenant) const;
  std::string Url(const std::string& tenant, const std::string& name) const;
  kiln::v1::FunctionInfo Info(const std::string& tenant, const std::string& name,
                              const Function& function) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Function* Find(const std::string& tenant, const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status DeployLocked(const kiln::v1::DeployRequest& request,
                            kiln::v1::DeployResponse* response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends a version with `config` to `function` and makes it active; its
  // bundle hash is `sha256`, or a made-up one when empty.
  const kiln::v1::VersionInfo& AddVersion(Function& function,
                                          const kiln::v1::FunctionConfig& config,
                                          const std::string& sha256 = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FailedPrecondition for the first secret `config` binds that `tenant` has not set.
  grpc::Status CheckSecretsSet(const std::string& tenant,
                               const kiln::v1::FunctionConfig& config) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Names of `tenant`'s functions whose active version binds secret `name`.
  std::vector<std::string> Binders(const std::string& tenant, const std::string& name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string token_;
  const std::string tenant_;
  const std::string base_domain_;
  const int http_port_;

  mutable absl::Mutex mu_;
  std::string build_error_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Function> functions_ ABSL_GUARDED_BY(mu_);  // "tenant/name"
  std::vector<kiln::v1::DeployRequest> deploys_ ABSL_GUARDED_BY(mu_);
  std::vector<kiln::v1::LogEntry> logs_ ABSL_GUARDED_BY(mu_);
  // tenant -> name -> value
  std::map<std::string, std::map<std::string, std::string>> secrets_ ABSL_GUARDED_BY(mu_);
  int last_upload_chunks_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  bool end_followers_ ABSL_GUARDED_BY(mu_) = false;
};

// A gRPC server around a FakeControl, listening on `address` (port 0 picks a
// free port). Shuts down on destruction.
class FakeControlServer {
 public:
  static std::unique_ptr<FakeControlServer> Start(FakeControl* service,
                                                  const std::string& address = "127.0.0.1:0");
  ~FakeControlServer();
  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }
  void Shutdown();

 private:
  FakeControlServer() = default;
  FakeControl* service_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace kiln::sdk::testing
