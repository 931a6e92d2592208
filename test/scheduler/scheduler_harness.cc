// SchedulerProcess / ControlClient: process start-up, /proc scans, RPC helpers.
#include "test/scheduler/scheduler_harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace kiln::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string SchedulerBinary() { return RunfilePath("scheduler/server/kiln-scheduler"); }
std::string WorkerBinary() { return RunfilePath("worker/server/kiln-worker"); }

}  // namespace

std::unique_ptr<SchedulerProcess> SchedulerProcess::Start(const std::string& data_dir,
                                                          SchedulerOptions options) {
  const std::string addr_file = data_dir + "/api.addr";
  std::filesystem::remove(addr_file);
  std::vector<std::string> argv = {SchedulerBinary(), "--data-dir", data_dir, "--api",
                                   "127.0.0.1:0", "--workers", std::to_string(options.workers),
                                   "--build-workers", std::to_string(options.build_workers),
                                   "--worker-binary", WorkerBinary(), "--http-port", "0",
                                   "--heartbeat-ms", std::to_string(options.heartbeat_ms),
                                   // Two cores: keep each worker's threads few.
                                   "--worker-arg=--executors=1"};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  Subprocess process = Subprocess::Start(argv);
  if (process.pid() <= 0) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return nullptr;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::string address;
  while (absl::Now() < deadline) {
    address = std::string(absl::StripTrailingAsciiWhitespace(ReadFile(addr_file)));
    if (!address.empty()) break;
    if (process.Wait(absl::ZeroDuration()).has_value()) {
      ADD_FAILURE() << "kiln-scheduler exited during start-up";
      return nullptr;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (address.empty()) {
    ADD_FAILURE() << "kiln-scheduler did not write " << addr_file;
    return nullptr;
  }
  return std::unique_ptr<SchedulerProcess>(
      new SchedulerProcess(std::move(process), data_dir, address));
}

std::string SchedulerProcess::http_address() const {
  return std::string(absl::StripTrailingAsciiWhitespace(ReadFile(data_dir_ + "/http.addr")));
}

std::string HttpGet(const std::string& address, const std::string& host, const std::string& path) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

std::string SchedulerProcess::DefaultToken() const {
  return std::string(absl::StripTrailingAsciiWhitespace(ReadFile(data_dir_ + "/default.token")));
}

std::map<std::string, pid_t> SchedulerProcess::WorkerPids() const {
  std::map<std::string, pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    int ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid) || ppid != process_.pid())
      continue;
    if (fields[0] == "Z") continue;  // exited, not reaped yet
    std::vector<std::string> args = absl::StrSplit(ReadFile(entry.path() / "cmdline"), '\0');
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--worker-id") pids[args[i + 1]] = pid;
    }
  }
  return pids;
}

std::string CreateTenant(const std::string& data_dir, const std::string& tenant) {
  const std::string out = data_dir + ".token." + tenant;
  std::string command = absl::StrCat(SchedulerBinary(), " --data-dir ", data_dir,
                                     " --create-tenant ", tenant, " > ", out);
  if (std::system(command.c_str()) != 0) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(ReadFile(out)));
}

ControlClient::ControlClient(const std::string& address, std::string token)
    : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
      stub_(kiln::v1::Control::NewStub(channel_)),
      token_(std::move(token)) {}

std::unique_ptr<grpc::ClientContext> ControlClient::Context(absl::Duration deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

kiln::v1::Bundle OneFileBundle(const std::string& source) {
  kiln::v1::Bundle bundle;
  bundle.set_main_module("index.js");
  kiln::v1::BundleFile* file = bundle.add_files();
  file->set_path("index.js");
  file->set_content(source);
  return bundle;
}

grpc::Status ControlClient::Deploy(const std::string& name, const std::string& source,
                                   kiln::v1::DeployResponse* response,
                                   const kiln::v1::FunctionConfig& config,
                                   const std::string& tenant) {
  return Deploy(name, OneFileBundle(source), response, config, tenant);
}

grpc::Status ControlClient::Deploy(const std::string& name, const kiln::v1::Bundle& bundle,
                                   kiln::v1::DeployResponse* response,
                                   const kiln::v1::FunctionConfig& config,
                                   const std::string& tenant) {
  kiln::v1::DeployRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  *request.mutable_bundle() = bundle;
  *request.mutable_config() = config;
  return stub_->Deploy(Context().get(), request, response);
}

grpc::Status ControlClient::Invoke(const std::string& name, const std::string& path,
                                   kiln::v1::InvokeResponse* response, uint64_t version,
                                   const std::string& tenant, absl::Duration deadline) {
  kiln::v1::InvokeRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  request.set_version(version);
  kiln::v1::HttpRequest* http = request.mutable_event()->mutable_http();
  http->set_method("GET");
  http->set_url(
      absl::StrCat("http://", name, ".", tenant.empty() ? "default" : tenant, ".localhost", path));
  return stub_->Invoke(Context(deadline).get(), request, response);
}

grpc::Status ControlClient::Get(const std::string& name, kiln::v1::FunctionInfo* info,
                                const std::string& tenant) {
  kiln::v1::GetFunctionRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  return stub_->GetFunction(Context().get(), request, info);
}

grpc::Status ControlClient::Versions(const std::string& name,
                                     kiln::v1::ListVersionsResponse* response,
                                     const std::string& tenant) {
  kiln::v1::ListVersionsRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  return stub_->ListVersions(Context().get(), request, response);
}

grpc::Status ControlClient::List(kiln::v1::ListFunctionsResponse* response,
                                 const std::string& tenant) {
  kiln::v1::ListFunctionsRequest request;
  request.set_tenant(tenant);
  return stub_->ListFunctions(Context().get(), request, response);
}

grpc::Status ControlClient::Rollback(const std::string& name, uint64_t to_version,
                                     kiln::v1::FunctionInfo* info, const std::string& tenant) {
  kiln::v1::RollbackRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  request.set_to_version(to_version);
  return stub_->Rollback(Context().get(), request, info);
}

grpc::Status ControlClient::Delete(const std::string& name, const std::string& tenant) {
  kiln::v1::DeleteFunctionRequest request;
  request.set_tenant(tenant);
  request.set_name(name);
  kiln::v1::DeleteFunctionResponse response;
  return stub_->DeleteFunction(Context().get(), request, &response);
}

std::string Body(const kiln::v1::InvokeResponse& response) {
  if (response.result().has_http()) return response.result().http().body();
  if (response.result().has_error()) {
    return absl::StrCat(kiln::v1::InvocationError::Kind_Name(response.result().error().kind()),
                        ": ", response.result().error().message());
  }
  return "<no result>";
}

}  // namespace kiln::test
