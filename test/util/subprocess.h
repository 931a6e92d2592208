// Starting and stopping the real Kiln binaries from integration tests.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace kiln::test {

// The path of a binary built by Bazel and listed in the test's `data`, e.g.
// RunfilePath("worker/server/kiln-worker").
std::string RunfilePath(const std::string& workspace_relative);

// A child process, killed (SIGKILL) on destruction if still running.
class Subprocess {
 public:
  // Starts argv[0] with the given arguments; stdout/stderr are inherited.
  static Subprocess Start(const std::vector<std::string>& argv);
  Subprocess(Subprocess&& other) noexcept;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Waits up to `timeout` for the process to end; its wait status, or nullopt.
  std::optional<int> Wait(absl::Duration timeout);
  void Signal(int signal);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace kiln::test
