// The end-to-end harness (kiln_platform.h).
#include "test/e2e/kiln_platform.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;
using ::kiln::sdk::cli::testing::Runfile;
using ::kiln::sdk::cli::testing::RunKiln;

RunOptions WithScheduler(const std::string& dir, RunOptions options) {
  options.cwd = dir;
  options.env.emplace("KILN_SCHEDULER_BINARY", Runfile("scheduler/server/kiln-scheduler"));
  return options;
}

}  // namespace

std::string FirstLineOf(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

RunResult RunKilnIn(const std::string& dir, const std::vector<std::string>& args,
                    RunOptions options) {
  return RunKiln(args, WithScheduler(dir, std::move(options)));
}

std::string E2eDir() { return ::kiln::sdk::cli::testing::TestDir(); }

void WriteFileIn(const std::string& dir, const std::string& path, const std::string& content) {
  ::kiln::sdk::cli::testing::WriteFile(absl::StrCat(dir, "/", path), content);
}

std::unique_ptr<KilnPlatform> KilnPlatform::Start(const std::string& dir, Options options) {
  std::vector<std::string> args = {"up",
                                   "--api",
                                   "127.0.0.1:0",
                                   "--http",
                                   "127.0.0.1:0",
                                   "--workers",
                                   absl::StrCat(options.workers)};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::unique_ptr<KilnPlatform> platform(new KilnPlatform());
  platform->dir_ = dir;
  platform->process_ = KilnProcess::Start(args, WithScheduler(dir, {}));
  if (platform->process_ == nullptr) {
    ADD_FAILURE() << "cannot start kiln up";
    return nullptr;
  }
  if (!platform->process_->WaitFor("Ctrl-C stops Kiln.\n", absl::Seconds(60))) {
    ADD_FAILURE() << "kiln up did not come up:\n"
                  << platform->process_->out() << platform->process_->err();
    return nullptr;
  }
  platform->api_ = FirstLineOf(dir + "/.kiln/api.addr");
  platform->http_ = FirstLineOf(dir + "/.kiln/http.addr");
  if (platform->api_.empty() || platform->http_.empty()) {
    ADD_FAILURE() << "kiln up said it was up, but .kiln/api.addr or .kiln/http.addr is empty";
    return nullptr;
  }
  return platform;
}

KilnPlatform::~KilnPlatform() {
  if (process_ != nullptr && !stopped_) Stop(SIGINT, absl::Seconds(20));
}

int KilnPlatform::http_port() const {
  int port = 0;
  if (!absl::SimpleAtoi(http_.substr(http_.rfind(':') + 1), &port)) return 0;
  return port;
}

RunResult KilnPlatform::Kiln(const std::vector<std::string>& args, RunOptions options) const {
  return RunKilnIn(dir_, args, std::move(options));
}

HttpResponse KilnPlatform::Http(const std::string& function, const std::string& path,
                                const std::string& method, const std::string& body) const {
  HttpRequest request;
  request.method = method;
  request.host = absl::StrCat(function, ".default.localhost:", http_port());
  request.path = path;
  request.body = body;
  absl::StatusOr<HttpResponse> response = HttpFetch(http_, request);
  if (!response.ok()) {
    ADD_FAILURE() << method << " " << request.host << path << ": " << response.status();
    return HttpResponse{};
  }
  return *std::move(response);
}

RunResult KilnPlatform::Stop(int signal, absl::Duration timeout) {
  stopped_ = true;
  process_->Signal(signal);
  return process_->Finish(timeout);
}

}  // namespace kiln::test
