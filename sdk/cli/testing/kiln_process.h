// Running the built `kiln` binary from CLI tests: a clean environment (no
// KILN_* from the caller, TZ=UTC), a working directory, stdin from a pipe
// (never a terminal, unless asked for), and stdout/stderr captured (stderr
// through a terminal when asked for).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kiln::sdk::cli::testing {

// The `kiln` binary in the test's runfiles (data = ["//sdk/cli:kiln"]).
std::string KilnBinary();
// A binary in the test's runfiles by workspace-relative path.
std::string Runfile(const std::string& path);

struct RunOptions {
  std::string cwd;                         // "" : the test's temp dir
  std::map<std::string, std::string> env;  // added to PATH, HOME, TZ=UTC
  std::string stdin_data;
  bool stdin_tty = false;   // stdin is a pseudo-terminal (stdin_data is typed into it)
  bool stderr_tty = false;  // stderr is a pseudo-terminal (its output is captured as err)
};

struct RunResult {
  int exit_code = -1;  // -1: did not exit in time (killed)
  std::string out;
  std::string err;
};

// A running kiln. Killed (SIGKILL) on destruction if still running.
class KilnProcess {
 public:
  static std::unique_ptr<KilnProcess> Start(const std::vector<std::string>& args,
                                            const RunOptions& options = {});
  ~KilnProcess();

  // Waits until stdout (or stderr) holds `text`; false after `timeout`.
  bool WaitFor(const std::string& text, absl::Duration timeout, bool in_stderr = false);
  void Signal(int signal);
  // Waits for exit (SIGKILL after `timeout`) and returns everything captured.
  RunResult Finish(absl::Duration timeout = absl::Seconds(30));
  std::string out() const;
  std::string err() const;

 private:
  KilnProcess() = default;
  void Read(int fd, bool is_err);
  void CloseErrSlave();

  pid_t pid_ = -1;
  int err_slave_ = -1;  // our copy of a terminal stderr's slave side
  std::thread out_reader_;
  std::thread err_reader_;
  mutable absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
};

// Runs kiln to completion.
RunResult RunKiln(const std::vector<std::string>& args, const RunOptions& options = {});

// A fresh temp folder for one test: $TEST_TMPDIR/<test name>.
std::string TestDir();

// Writes `content` to `path` atomically (temp file + rename), creating folders.
void WriteFile(const std::string& path, const std::string& content);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int ClosedPort();

}  // namespace kiln::sdk::cli::testing
