// kiln::sdk::Client: a C++ client of the scheduler's kiln.v1.Control API —
// deploy, list, versions, rollback, delete, invoke, tail logs, secrets — the layer the
// `kiln` CLI is built on. Every call carries the tenant's bearer token and a
// deadline; gRPC statuses become absl::Status here, at the edge.
//
//   kiln::sdk::ClientOptions options;
//   options.api = "127.0.0.1:7000";
//   options.token = token;  // "kiln_default_<hex>", from .kiln/default.token
//   KILN_ASSIGN_OR_RETURN(std::unique_ptr<kiln::sdk::Client> client,
//                         kiln::sdk::Client::Connect(options));
//   KILN_ASSIGN_OR_RETURN(kiln::v1::DeployRequest request,
//                         kiln::sdk::LoadFunction("examples/hello"));
//   KILN_ASSIGN_OR_RETURN(kiln::v1::DeployResponse deployed, client->Deploy(request));
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kiln/v1/common.pb.h"
#include "kiln/v1/control.grpc.pb.h"
#include "kiln/v1/control.pb.h"

namespace kiln::sdk {

struct ClientOptions {
  std::string api;     // "HOST:PORT" or "unix:PATH" of kiln.v1.Control
  std::string token;   // sent as `authorization: Bearer <token>`; "" sends none
  std::string tenant;  // "" : the tenant the token names, else "default"
  absl::Duration call_timeout = absl::Seconds(30);   // list, versions, rollback, ...
  absl::Duration deploy_timeout = absl::Minutes(5);  // includes the snapshot build
  absl::Duration invoke_timeout = absl::Minutes(2);  // includes the function's run
};

// An HTTP request for Client::InvokeHttp.
struct HttpCall {
  std::string method = "GET";
  std::string path = "/";  // path and query, e.g. "/items?limit=5"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint64_t version = 0;  // 0: the active version
};

// Called as a deploy's bytes go out: `sent` of `total` bytes of the request
// handed to gRPC (which sends them as HTTP/2 flow control allows, so on a fast
// link `sent` runs ahead of what the server has read by at most a window).
// Called on the deploying thread, after each chunk, last with sent == total.
using UploadProgress = std::function<void(uint64_t sent, uint64_t total)>;

// The size of the chunks Client::Deploy sends.
inline constexpr size_t kUploadChunkBytes = 64 * 1024;

// True for the status a Client call returns when it could not reach the API
// at all (nothing listening, wrong address, no route): Unavailable, with a
// marker payload. The CLI maps it to exit code 3.
bool IsUnreachable(const absl::Status& status);

// The status IsUnreachable recognizes, with `message`.
absl::Status UnreachableError(absl::string_view message);

// A server-streamed TailLogs call. Owned by the caller; Next() from one
// thread, Cancel() from any.
class LogStream {
 public:
  ~LogStream();
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  // Blocks for the next entry. nullopt once the stream ended normally (no
  // --follow: after the backlog; or after Cancel()). Errors as Client calls.
  absl::StatusOr<std::optional<kiln::v1::LogEntry>> Next();

  // Ends the stream; a blocked Next() returns nullopt. Thread-safe.
  void Cancel();

 private:
  friend class Client;
  LogStream(const class Client* client, absl::Duration timeout);
  const class Client* client_;
  const absl::Duration timeout_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<kiln::v1::LogEntry>> reader_;
  std::atomic<bool> cancelled_{false};
  bool done_ = false;
};

// One connection to one Kiln API as one tenant. Thread-safe: calls may run
// concurrently from several threads. Each call returns, besides the codes
// listed, Unavailable when the API cannot be reached (IsUnreachable),
// Unauthenticated / PermissionDenied when the token is refused, and
// DeadlineExceeded when the call's timeout passed.
class Client {
 public:
  // Creates the channel; does not dial (the first call does). InvalidArgument
  // for a malformed `api`.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(ClientOptions options);
  ~Client();

  const std::string& api() const { return options_.api; }
  const std::string& tenant() const { return options_.tenant; }

  // Deploys a new version (request.tenant defaults to tenant()). Runs
  // CheckDeployRequest first: InvalidArgument without a call when it fails.
  // Sends the request in kUploadChunkBytes chunks (Control.DeployUpload),
  // calling `progress` (if set) after each. InvalidArgument from the server
  // for a build error, whose message holds "file:line:column: ..." (see
  // build_error.h); FailedPrecondition when the config binds a secret the
  // tenant has not set.
  absl::StatusOr<kiln::v1::DeployResponse> Deploy(kiln::v1::DeployRequest request,
                                                  const UploadProgress& progress = nullptr);

  // NotFound for an unknown function.
  absl::StatusOr<kiln::v1::FunctionInfo> GetFunction(absl::string_view name);
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> ListFunctions();
  absl::StatusOr<kiln::v1::ListVersionsResponse> ListVersions(absl::string_view name);

  // Makes `to_version` (0: the one before the active one) active. NotFound for
  // an unknown function or version; FailedPrecondition when there is no
  // earlier version.
  absl::StatusOr<kiln::v1::FunctionInfo> Rollback(absl::string_view name, uint64_t to_version = 0);

  // Deletes the function and all its versions. NotFound for an unknown one.
  absl::Status DeleteFunction(absl::string_view name);

  // Runs one invocation and returns its result. A failed invocation (a throw,
  // a limit) is OK here: it is InvokeResponse.result.error, not a Status.
  absl::StatusOr<kiln::v1::InvokeResponse> Invoke(absl::string_view name,
                                                  kiln::v1::InvocationEvent event,
                                                  uint64_t version = 0);

  // Invoke with an HTTP request addressed to the function's URL plus
  // `call.path` (GetFunction supplies the URL: NotFound for an unknown name).
  absl::StatusOr<kiln::v1::InvokeResponse> InvokeHttp(absl::string_view name, const HttpCall& call);

  // Creates or replaces tenant secret `name`. Runs CheckSecret first
  // (InvalidArgument without a call). The response says whether it was new,
  // unchanged, and which functions got a new version because they bind it
  // (see Control.SetSecret).
  absl::StatusOr<kiln::v1::SetSecretResponse> SetSecret(absl::string_view name,
                                                        absl::string_view value);
  // The tenant's secret names (never values), by name, with their binders.
  absl::StatusOr<std::vector<kiln::v1::SecretInfo>> ListSecrets();
  // NotFound for an unknown secret; FailedPrecondition while a function's
  // active version binds it. CheckSecretName first.
  absl::Status DeleteSecret(absl::string_view name);

  // Streams log entries: `backlog` recent ones, then, with `follow`, new ones
  // until Cancel(). `name` "" streams every function of the tenant.
  absl::StatusOr<std::unique_ptr<LogStream>> TailLogs(absl::string_view name, bool follow,
                                                      uint32_t backlog);

 private:
  friend class LogStream;
  explicit Client(ClientOptions options);

  // A context with the token and a deadline `timeout` from now (none if zero).
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration timeout) const;
  // The edge: a finished call's gRPC status as an absl::Status, unreachable
  // APIs and timeouts described with the address.
  absl::Status FromGrpc(const grpc::Status& status, absl::Duration timeout) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kiln::v1::Control::Stub> stub_;
};

}  // namespace kiln::sdk
