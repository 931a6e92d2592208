// Running kiln-scheduler as a child process (scheduler_process.h).
#include "sdk/cli/scheduler_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace kiln::sdk::cli {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kBinaryName = "kiln-scheduler";
constexpr absl::string_view kListening = "kiln-scheduler: api listening on ";
constexpr absl::string_view kHttpListening = "kiln-scheduler: http listening on ";

bool Executable(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::vector<std::string> SchedulerArgv(const SchedulerCommand& command) {
  std::vector<std::string> argv = {command.binary, "--data-dir", command.data_dir, "--api",
                                   command.api};
  if (command.workers >= 0) {
    argv.push_back("--workers");
    argv.push_back(absl::StrCat(command.workers));
  }
  for (const std::string& arg : {std::string("--http"), command.http,
                                 std::string("--base-domain"), command.base_domain}) {
    argv.push_back(arg);
  }
  return argv;
}

absl::StatusOr<std::string> FindSchedulerBinary(const std::string& flag) {
  auto must_run = [](const std::string& path,
                     absl::string_view from) -> absl::StatusOr<std::string> {
    if (Executable(path)) return path;
    return absl::NotFoundError(
        absl::StrCat(from, " names ", path, ", which is not an executable file — fix the path"));
  };
  if (!flag.empty()) return must_run(flag, "--scheduler-binary");
  if (const char* env = std::getenv("KILN_SCHEDULER_BINARY"); env != nullptr && *env != '\0') {
    return must_run(env, "KILN_SCHEDULER_BINARY");
  }
  std::vector<std::string> looked;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = self.parent_path();
    for (fs::path candidate :
         {dir / std::string(kBinaryName),
          dir / ".." / ".." / "scheduler" / "server" / std::string(kBinaryName)}) {
      candidate = candidate.lexically_normal();
      if (Executable(candidate.string())) return candidate.string();
      looked.push_back(candidate.string());
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(dir, "/", kBinaryName);
      if (Executable(candidate)) return candidate;
    }
    looked.push_back("$PATH");
  }
  return absl::NotFoundError(
      absl::StrCat("cannot find kiln-scheduler (looked in ", absl::StrJoin(looked, ", "),
                   ") — build it with `bazel build //scheduler/server:kiln-scheduler`, or pass "
                   "--scheduler-binary PATH / set KILN_SCHEDULER_BINARY"));
}

namespace {

// The address after `prefix` in `line`, up to the first blank.
std::optional<std::string> AddressAfter(absl::string_view prefix, const std::string& line) {
  absl::string_view rest = line;
  size_t at = rest.find(prefix);
  if (at == absl::string_view::npos) return std::nullopt;
  rest = rest.substr(at + prefix.size());
  size_t end = rest.find_first_of(" \t\r\n");
  std::string address(rest.substr(0, end));
  if (address.empty()) return std::nullopt;
  return address;
}

}  // namespace

std::optional<std::string> ParseListeningLine(const std::string& line) {
  return AddressAfter(kListening, line);
}

std::optional<std::string> ParseHttpListeningLine(const std::string& line) {
  return AddressAfter(kHttpListening, line);
}

absl::StatusOr<std::unique_ptr<SchedulerProcess>> SchedulerProcess::Start(
    const SchedulerCommand& command, LineSink on_line) {
  std::vector<std::string> argv = SchedulerArgv(command);
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // kiln died before prctl took effect
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  setpgid(pid, pid);  // also here, so the group exists before kiln signals it
  std::unique_ptr<SchedulerProcess> process(new SchedulerProcess());
  process->pid_ = pid;
  process->on_line_ = std::move(on_line);
  process->reader_ = std::thread([p = process.get(), fd = out[0]] { p->ReadLines(fd); });
  return process;
}

void SchedulerProcess::ReadLines(int fd) {
  std::string pending;
  char buffer[4096];
  auto emit = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // The line is passed on before it counts, so output about being ready
    // never comes before the scheduler's own announcement.
    if (on_line_) on_line_(line);
    if (std::optional<std::string> address = ParseListeningLine(line)) {
      absl::MutexLock lock(&mu_);
      if (!listening_.has_value()) listening_ = *address;
    } else if (std::optional<std::string> http = ParseHttpListeningLine(line)) {
      absl::MutexLock lock(&mu_);
      if (!http_listening_.has_value()) http_listening_ = *http;
    }
  };
  while (true) {
    pollfd entry{fd, POLLIN, 0};
    int ready = poll(&entry, 1, 100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) {
      if (stop_reading_.load()) break;
      continue;
    }
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
      emit(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
  }
  if (!pending.empty()) emit(pending);
  close(fd);
}

SchedulerProcess::~SchedulerProcess() {
  if (!Poll().has_value()) {
    Signal(SIGTERM);
    if (!Wait(absl::Seconds(10)).has_value()) {
      Signal(SIGKILL);
      Wait(absl::Seconds(5));
    }
  }
  // Workers the scheduler started may still hold the pipe; stop after a
  // short drain rather than waiting for them.
  absl::SleepFor(absl::Milliseconds(50));
  stop_reading_ = true;
  if (reader_.joinable()) reader_.join();
}

std::optional<std::string> SchedulerProcess::listening() const {
  absl::MutexLock lock(&mu_);
  return listening_;
}

std::optional<std::string> SchedulerProcess::http_listening() const {
  absl::MutexLock lock(&mu_);
  return http_listening_;
}

void SchedulerProcess::Signal(int signal) {
  if (exit_code_.has_value() || pid_ <= 0) return;
  if (signal == SIGKILL) {
    kill(-pid_, SIGKILL);
  } else {
    kill(pid_, signal);
  }
}

std::optional<int> SchedulerProcess::Poll() {
  if (exit_code_.has_value() || pid_ <= 0) return exit_code_;
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::optional<int> SchedulerProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<int> code = Poll()) return code;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace kiln::sdk::cli
