// Starting a real kiln-scheduler (with its real kiln-worker children) from an
// integration test, and talking to it over kiln.v1.Control as the CLI does.
// testonly.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kiln/v1/control.grpc.pb.h"
#include "test/util/subprocess.h"

namespace kiln::test {

struct SchedulerOptions {
  int workers = 2;
  int build_workers = 0;
  int heartbeat_ms = 1000;
  std::vector<std::string> extra_args;
};

// One kiln-scheduler process on 127.0.0.1:0 over `data_dir`.
class SchedulerProcess {
 public:
  // Starts it and waits (up to 60 s) for <data_dir>/api.addr, which it
  // writes once its local workers registered. nullptr (and a test failure)
  // when it does not come up.
  static std::unique_ptr<SchedulerProcess> Start(const std::string& data_dir,
                                                 SchedulerOptions options = {});

  pid_t pid() const { return process_.pid(); }
  const std::string& address() const { return address_; }
  // The HTTP gateway's HOST:PORT (<data_dir>/http.addr).
  std::string http_address() const;
  const std::string& data_dir() const { return data_dir_; }
  Subprocess& process() { return process_; }
  // The default tenant's token (<data_dir>/default.token).
  std::string DefaultToken() const;

  // Its kiln-worker children by worker id ("local-0" -> pid).
  std::map<std::string, pid_t> WorkerPids() const;

 private:
  SchedulerProcess(Subprocess process, std::string data_dir, std::string address)
      : process_(std::move(process)),
        data_dir_(std::move(data_dir)),
        address_(std::move(address)) {}
  Subprocess process_;
  std::string data_dir_;
  std::string address_;
};

// `kiln-scheduler --data-dir DIR --create-tenant NAME` (the scheduler must not
// be running on DIR): the new tenant's token, or "" on failure.
std::string CreateTenant(const std::string& data_dir, const std::string& tenant);

// A Control client acting with one token, as `kiln --token` does.
class ControlClient {
 public:
  ControlClient(const std::string& address, std::string token);

  void set_token(std::string token) { token_ = std::move(token); }
  kiln::v1::Control::Stub& stub() { return *stub_; }
  // A context carrying the token (unless empty) and a deadline.
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = absl::Seconds(60)) const;

  grpc::Status Deploy(const std::string& name, const std::string& source,
                      kiln::v1::DeployResponse* response,
                      const kiln::v1::FunctionConfig& config = {}, const std::string& tenant = "");
  grpc::Status Deploy(const std::string& name, const kiln::v1::Bundle& bundle,
                      kiln::v1::DeployResponse* response,
                      const kiln::v1::FunctionConfig& config = {}, const std::string& tenant = "");
  // GET http://<name>.<tenant>.localhost<path> of `version` (0: active).
  grpc::Status Invoke(const std::string& name, const std::string& path,
                      kiln::v1::InvokeResponse* response, uint64_t version = 0,
                      const std::string& tenant = "", absl::Duration deadline = absl::Seconds(60));
  grpc::Status Get(const std::string& name, kiln::v1::FunctionInfo* info,
                   const std::string& tenant = "");
  grpc::Status Versions(const std::string& name, kiln::v1::ListVersionsResponse* response,
                        const std::string& tenant = "");
  grpc::Status List(kiln::v1::ListFunctionsResponse* response, const std::string& tenant = "");
  grpc::Status Rollback(const std::string& name, uint64_t to_version, kiln::v1::FunctionInfo* info,
                        const std::string& tenant = "");
  grpc::Status Delete(const std::string& name, const std::string& tenant = "");

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kiln::v1::Control::Stub> stub_;
  std::string token_;
};

// An HTTP/1.1 request to `address` (HOST:PORT) with `host` as its Host
// header: the whole response (status line, headers, body), "" on a socket
// failure.
std::string HttpGet(const std::string& address, const std::string& host, const std::string& path);

// A one-file bundle (index.js) holding `source`.
kiln::v1::Bundle OneFileBundle(const std::string& source);

// The body of an HTTP result, or "<error kind>: <message>" when it failed.
std::string Body(const kiln::v1::InvokeResponse& response);

}  // namespace kiln::test
