// The real Kiln platform as a user runs it, for end-to-end tests: `kiln up`
// (the real kiln-scheduler with real sandboxed kiln-workers) started in a
// folder under TEST_TMPDIR on ports 0, the `kiln` CLI run from that folder
// (it finds the API and token in ./.kiln, as a user's would), and HTTP calls
// through the gateway. testonly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "sdk/cli/testing/kiln_process.h"
#include "test/util/http_client.h"

namespace kiln::test {

using ::kiln::sdk::cli::testing::KilnProcess;
using ::kiln::sdk::cli::testing::RunOptions;
using ::kiln::sdk::cli::testing::RunResult;

// `kiln ARGS` run in `dir`, with kiln-scheduler found through
// KILN_SCHEDULER_BINARY (the test's runfiles) and nothing else set.
RunResult RunKilnIn(const std::string& dir, const std::vector<std::string>& args,
                    RunOptions options = {});

// A fresh folder for the current test: $TEST_TMPDIR/<suite>.<test>.
std::string E2eDir();

// The first line of a file, trimmed; "" if it cannot be read.
std::string FirstLineOf(const std::string& path);

// Writes `content` to dir/path, creating folders.
void WriteFileIn(const std::string& dir, const std::string& path, const std::string& content);

class KilnPlatform {
 public:
  struct Options {
    int workers = 1;
    std::vector<std::string> extra_args;  // appended to `kiln up`
  };

  // Runs `kiln up --api 127.0.0.1:0 --http 127.0.0.1:0 --workers N` in `dir`
  // (data in dir/.kiln) and waits, up to 60 s, until it says it is up; reads
  // the addresses it wrote. nullptr (with a test failure) if it does not
  // come up.
  static std::unique_ptr<KilnPlatform> Start(const std::string& dir, Options options);
  static std::unique_ptr<KilnPlatform> Start(const std::string& dir) { return Start(dir, {}); }

  // Stops `kiln up` if it still runs (SIGINT, then SIGKILL after 20 s).
  ~KilnPlatform();

  const std::string& dir() const { return dir_; }
  const std::string& api() const { return api_; }
  const std::string& http() const { return http_; }  // "127.0.0.1:PORT"
  int http_port() const;
  KilnProcess& process() { return *process_; }

  // `kiln ARGS` from the platform's folder.
  RunResult Kiln(const std::vector<std::string>& args, RunOptions options = {}) const;

  // GET (or `method`) http://NAME.default.localhost:PORT/PATH through the
  // gateway. A connection failure is a test failure and status 0.
  HttpResponse Http(const std::string& function, const std::string& path = "/",
                    const std::string& method = "GET", const std::string& body = "") const;

  // Sends `signal` to `kiln up` and waits up to `timeout` for it to exit; its
  // exit code and everything it printed.
  RunResult Stop(int signal, absl::Duration timeout = absl::Seconds(30));

 private:
  KilnPlatform() = default;
  std::string dir_;
  std::string api_;
  std::string http_;
  std::unique_ptr<KilnProcess> process_;
  bool stopped_ = false;
};

}  // namespace kiln::test
