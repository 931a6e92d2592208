// Running the kiln binary from tests (kiln_process.h).
#include "sdk/cli/testing/kiln_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::sdk::cli::testing {

namespace fs = std::filesystem;

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return fs::absolute(
             absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "kiln", "/", path))
      .string();
}

std::string KilnBinary() { return Runfile("sdk/cli/kiln"); }

std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir =
      fs::path(tmp ? tmp : "/tmp") / absl::StrCat(info->test_suite_name(), ".", info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& content) {
  // Written beside it under a dot-name (which kiln skips), then renamed, so a
  // polling `kiln dev` never sees a half-written file.
  const fs::path target(path);
  fs::create_directories(target.parent_path());
  const fs::path temp = target.parent_path() / ("." + target.filename().string() + ".tmp");
  std::ofstream(temp, std::ios::binary) << content;
  fs::rename(temp, target);
}

int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::unique_ptr<KilnProcess> KilnProcess::Start(const std::vector<std::string>& args,
                                                const RunOptions& options) {
  std::vector<std::string> argv = {KilnBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = {{"PATH", "/usr/bin:/bin"}, {"TZ", "UTC"}};
  const char* tmp = std::getenv("TEST_TMPDIR");
  env["HOME"] = tmp ? tmp : "/tmp";
  for (const auto& [key, value] : options.env) env[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> c_argv, c_env;
  for (std::string& s : argv) c_argv.push_back(s.data());
  c_argv.push_back(nullptr);
  for (std::string& s : env_strings) c_env.push_back(s.data());
  c_env.push_back(nullptr);
  const std::string cwd = options.cwd.empty() ? (tmp ? tmp : "/tmp") : options.cwd;

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return nullptr;
  std::string tty_name;
  if (options.stdin_tty) {
    // A pseudo-terminal for stdin: the child reads the slave side, the data
    // is written to the master (the pipe's write end is swapped for it).
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return nullptr;
    tty_name = ptsname(master);
    close(in[1]);
    in[1] = master;
  }
  int err_slave = -1;
  if (options.stderr_tty) {
    // A pseudo-terminal for stderr: the child writes the slave side, we read
    // the master (in place of the pipe's read end). We hold the slave open
    // too until the child is reaped: a master reads EIO while no one does.
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return nullptr;
    err_slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (err_slave < 0) return nullptr;
    // Raw output: no "\n" -> "\r\n", so tests see exactly what kiln wrote.
    termios raw;
    if (tcgetattr(err_slave, &raw) == 0) {
      raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
      tcsetattr(err_slave, TCSANOW, &raw);
    }
    close(err[0]);
    err[0] = master;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (err_slave >= 0) dup2(err_slave, err[1]);
    if (!tty_name.empty()) {
      int slave = open(tty_name.c_str(), O_RDWR | O_NOCTTY);
      if (slave < 0) _exit(125);
      dup2(slave, STDIN_FILENO);
    } else {
      dup2(in[0], STDIN_FILENO);
    }
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Write stdin from a thread of its own so a large input cannot block us.
  std::thread([fd = in[1], data = options.stdin_data, tty = options.stdin_tty] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    // A terminal's master stays open until the child has read its line.
    if (tty) absl::SleepFor(absl::Seconds(2));
    close(fd);
  }).detach();
  std::unique_ptr<KilnProcess> process(new KilnProcess());
  process->pid_ = pid;
  process->err_slave_ = err_slave;
  process->out_reader_ = std::thread([p = process.get(), fd = out[0]] { p->Read(fd, false); });
  process->err_reader_ = std::thread([p = process.get(), fd = err[0]] { p->Read(fd, true); });
  return process;
}

void KilnProcess::Read(int fd, bool is_err) {
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF; EIO from a terminal whose other side closed
    absl::MutexLock lock(&mu_);
    (is_err ? err_ : out_).append(buffer, static_cast<size_t>(n));
  }
  close(fd);
}

KilnProcess::~KilnProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  CloseErrSlave();
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

bool KilnProcess::WaitFor(const std::string& text, absl::Duration timeout, bool in_stderr) {
  absl::MutexLock lock(&mu_);
  auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::StrContains(in_stderr ? err_ : out_, text);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
}

void KilnProcess::CloseErrSlave() {
  if (err_slave_ >= 0) close(err_slave_);
  err_slave_ = -1;
}

void KilnProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

RunResult KilnProcess::Finish(absl::Duration timeout) {
  RunResult result;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (pid_ > 0) {
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      break;
    }
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      result.exit_code = -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  CloseErrSlave();
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  result.out = out();
  result.err = err();
  return result;
}

std::string KilnProcess::out() const {
  absl::MutexLock lock(&mu_);
  return out_;
}

std::string KilnProcess::err() const {
  absl::MutexLock lock(&mu_);
  return err_;
}

RunResult RunKiln(const std::vector<std::string>& args, const RunOptions& options) {
  std::unique_ptr<KilnProcess> process = KilnProcess::Start(args, options);
  if (process == nullptr) return RunResult{};
  return process->Finish();
}

}  // namespace kiln::sdk::cli::testing
