// kiln-scheduler as a child of `kiln up` (foreground) and `kiln dev`
// (background): finding the binary, starting it with the platform's flags,
// reading its stdout line by line for the "api listening on" announcement,
// forwarding stop signals, and reaping it. (Its "http listening on" line is
// read too, for the gateway's real address.)
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kiln::sdk::cli {

// How to run the scheduler (its command line: `kiln-scheduler --data-dir DIR
// --api HOST:PORT --workers N --http HOST:PORT --base-domain D`).
struct SchedulerCommand {
  std::string binary;
  std::string data_dir;
  std::string api = "127.0.0.1:7000";
  std::string http = "127.0.0.1:8080";
  int workers = -1;  // -1: kiln-scheduler's default (one per two cores)
  std::string base_domain = "localhost";
};

std::vector<std::string> SchedulerArgv(const SchedulerCommand& command);

// The kiln-scheduler executable, first found: `flag` (--scheduler-binary),
// $KILN_SCHEDULER_BINARY, next to the running kiln, in Bazel's output layout
// beside it (bazel-bin/sdk/cli/kiln -> bazel-bin/scheduler/server/), on PATH.
// NotFound, listing where it looked and how to build one, when none is there.
absl::StatusOr<std::string> FindSchedulerBinary(const std::string& flag);

// The HOST:PORT in a line "kiln-scheduler: api listening on HOST:PORT".
std::optional<std::string> ParseListeningLine(const std::string& line);
// The HOST:PORT in a line "kiln-scheduler: http listening on HOST:PORT" (the
// gateway's real address, also when --http asked for port 0).
std::optional<std::string> ParseHttpListeningLine(const std::string& line);

// A running kiln-scheduler. Owned by the command that started it, used from
// its main thread; a reader thread of its own calls `on_line`.
class SchedulerProcess {
 public:
  using LineSink = std::function<void(const std::string& line)>;

  // Starts the child in a process group of its own (a terminal's Ctrl-C then
  // reaches only kiln, which forwards it once), stdin from /dev/null, stdout
  // piped to `on_line` line by line, stderr shared. The child gets SIGTERM if
  // kiln dies. Internal when fork/exec fails; exec failure shows as exit 127.
  static absl::StatusOr<std::unique_ptr<SchedulerProcess>> Start(const SchedulerCommand& command,
                                                                 LineSink on_line);
  // Stops the child if it still runs (SIGTERM; after 10 s, SIGKILL to its group).
  ~SchedulerProcess();

  pid_t pid() const { return pid_; }
  // The API address it announced, once it has.
  std::optional<std::string> listening() const;
  // The HTTP gateway's address it announced, once it has.
  std::optional<std::string> http_listening() const;
  // Sends `signal` to the scheduler (SIGKILL: to its whole process group).
  void Signal(int signal);
  // Reaps it if it has ended: its exit code, 128 + N when killed by signal N.
  std::optional<int> Poll();
  // Polls until it ends or `timeout` passes.
  std::optional<int> Wait(absl::Duration timeout);

 private:
  SchedulerProcess() = default;
  void ReadLines(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  LineSink on_line_;
  std::thread reader_;
  std::atomic<bool> stop_reading_{false};
  mutable absl::Mutex mu_;
  std::optional<std::string> listening_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> http_listening_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::sdk::cli
