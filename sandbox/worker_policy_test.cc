// Runs testcases/syscall_probe under the worker policy (via ConfineWorker) and
// asserts how each probed syscall ends: SIGSYS for the refused ones, an errno
// for the errno rules, success for what a worker needs. Each probe also runs
// unconfined, to show the probe really makes its call.
#include "sandbox/worker_policy.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kiln::sandbox {
namespace {

struct Outcome {
  bool exited = false;
  int code = -1;    // exit status, when exited
  int signal = -1;  // terminating signal, when not

  std::string ToString() const {
    if (exited) {
      return absl::StrCat(
          "exit ", code,
          code > 0 && code < 200 ? absl::StrCat(" (", strerrorname_np(code), ")") : "");
    }
    return absl::StrCat("signal ", signal, " (", sigabbrev_np(signal), ")");
  }
};

std::string ProbePath() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "kiln",
                      "/sandbox/testcases/syscall_probe");
}

Outcome RunProbe(const std::string& mode, const std::string& probe) {
  static const std::string path = ProbePath();
  pid_t pid = fork();
  if (pid == 0) {
    execl(path.c_str(), path.c_str(), mode.c_str(), probe.c_str(), nullptr);
    _exit(252);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return {};
  Outcome outcome;
  outcome.exited = WIFEXITED(status);
  if (outcome.exited) outcome.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

bool KilledBySigsys(const Outcome& o) { return !o.exited && o.signal == SIGSYS; }

// Probes whose syscall the worker policy refuses by killing the process.
const std::vector<std::string>& KilledProbes() {
  static const std::vector<std::string> probes = {
      "creat",
      "openat2",
      "socket",
      "connect",
      "execve",
      "fork",
      "clone_process",
      "ptrace",
      "mount",
      "kill_parent",
      "kill_init",
      "kill_group",
      "io_uring_setup",
      "userfaultfd",
      "bpf",
      "unshare",
      "setuid",
      "memfd_create",
      "parent_cpu_clock",
      "clock_tai",
      "mprotect_prot_sem",
      "madvise_mergeable",
      "ioctl_tiocsti",
      "fcntl_setown",
      "futex_fd",
      "prctl_dumpable",
      "setrlimit",
      "sendto_addr",
      "sched_getaffinity_init",
      // A thread that existed before confinement makes a forbidden call: TSYNC
      // put it under the filter, and the whole process dies.
      "thread_before",
  };
  return probes;
}

// Probes refused with an errno, in every mode.
struct ErrnoProbe {
  std::string probe;
  int error;
};
const std::vector<ErrnoProbe>& ErrnoProbes() {
  static const std::vector<ErrnoProbe> probes = {
      // Path lookups: libraries probe files lazily and cope.
      {"open_passwd", EACCES},
      {"open_raw", EACCES},
      {"fopen_urandom", EACCES},
      {"stat_passwd", EACCES},
      {"lstat_passwd", EACCES},
      {"readlink_exe", EACCES},
      // glibc falls back to clone.
      {"clone3", ENOSYS},
      // isatty() answers "not a terminal".
      {"ioctl_tcgets", ENOTTY},
  };
  return probes;
}

// Probes of what a worker needs after confinement.
const std::vector<std::string>& AllowedProbes() {
  static const std::vector<std::string> probes = {
      "getppid",      "kill_self",    "raise_handled",    "read_pipe",
      "sendto_null",  "thread_after", "thread_cpu_clock", "fstat_pipe",
      "getrlimit",    "mmap_rwx",     "prctl_set_name",   "stdio",
      "malloc_large",
  };
  return probes;
}

class KilledTest : public ::testing::TestWithParam<std::string> {};

TEST_P(KilledTest, KillsTheProcessWithSigsys) {
  Outcome o = RunProbe("enforce", GetParam());
  EXPECT_TRUE(KilledBySigsys(o)) << GetParam() << " under the policy: " << o.ToString();
}

TEST_P(KilledTest, RunsWhenUnconfined) {
  // Without the policy the same probe makes its call and is not killed: the
  // SIGSYS above comes from the policy, not from the probe.
  Outcome o = RunProbe("none", GetParam());
  EXPECT_TRUE(o.exited) << GetParam() << " unconfined: " << o.ToString();
}

TEST_P(KilledTest, OnlyLoggedInLogMode) {
  Outcome unconfined = RunProbe("none", GetParam());
  Outcome logged = RunProbe("log", GetParam());
  ASSERT_TRUE(logged.exited) << GetParam() << " in log mode: " << logged.ToString();
  if (GetParam() == "execve") {
    // The exec happened; the new program inherits the filter, and its dynamic
    // loader cannot open libc (EACCES), which the loader reports as 127.
    EXPECT_EQ(logged.code, 127) << logged.ToString();
    return;
  }
  EXPECT_EQ(logged.code, unconfined.code) << GetParam() << " in log mode behaves as unconfined";
}

INSTANTIATE_TEST_SUITE_P(WorkerPolicy, KilledTest, ::testing::ValuesIn(KilledProbes()),
                         [](const auto& info) { return info.param; });

class AllowedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AllowedTest, WorksUnderThePolicy) {
  Outcome o = RunProbe("enforce", GetParam());
  EXPECT_TRUE(o.exited && o.code == 0) << GetParam() << " under the policy: " << o.ToString();
}

INSTANTIATE_TEST_SUITE_P(WorkerPolicy, AllowedTest, ::testing::ValuesIn(AllowedProbes()),
                         [](const auto& info) { return info.param; });

class ErrnoTest : public ::testing::TestWithParam<ErrnoProbe> {};

TEST_P(ErrnoTest, FailsWithTheErrnoInEveryMode) {
  const ErrnoProbe& p = GetParam();
  Outcome unconfined = RunProbe("none", p.probe);
  ASSERT_TRUE(unconfined.exited && unconfined.code != p.error)
      << p.probe << " unconfined: " << unconfined.ToString();
  for (const char* mode : {"enforce", "log"}) {
    Outcome o = RunProbe(mode, p.probe);
    EXPECT_TRUE(o.exited && o.code == p.error)
        << p.probe << " in " << mode << " mode: " << o.ToString() << ", want "
        << strerrorname_np(p.error);
  }
}

INSTANTIATE_TEST_SUITE_P(WorkerPolicy, ErrnoTest, ::testing::ValuesIn(ErrnoProbes()),
                         [](const auto& info) { return info.param.probe; });

TEST(WorkerPolicyTest, AbortStillEndsWithSigabrt) {
  // abort() signals the process itself (tgkill) and must still end it with
  // SIGABRT, so crashes stay crashes rather than turning into SIGSYS.
  Outcome o = RunProbe("enforce", "abort");
  EXPECT_FALSE(o.exited);
  EXPECT_EQ(o.signal, SIGABRT) << o.ToString();
}

TEST(WorkerPolicyTest, I386AbiKillsTheProcess) {
  Outcome unconfined = RunProbe("none", "i386_getpid");
  if (!unconfined.exited) {
    GTEST_SKIP() << "this kernel has no i386 emulation (int 0x80: " << unconfined.ToString() << ")";
  }
  Outcome o = RunProbe("enforce", "i386_getpid");
  EXPECT_TRUE(KilledBySigsys(o)) << o.ToString();
}

TEST(WorkerPolicyTest, StoppedAndContinuedSleepResumes) {
  static const std::string path = ProbePath();
  pid_t pid = fork();
  if (pid == 0) {
    execl(path.c_str(), path.c_str(), "enforce", "sleep_stopped", nullptr);
    _exit(252);
  }
  usleep(100 * 1000);  // the probe is confined and asleep by now
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << status;
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << (WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exit")
      << " -- restart_syscall must be allowed";
}

TEST(WorkerPolicyTest, X32AbiKillsTheProcessInEveryMode) {
  // Another ABI's numbers name other syscalls; the filter never lets them
  // through, not even in log mode.
  Outcome unconfined = RunProbe("none", "x32_getpid");
  ASSERT_TRUE(unconfined.exited) << unconfined.ToString();
  for (const char* mode : {"enforce", "log"}) {
    Outcome o = RunProbe(mode, "x32_getpid");
    EXPECT_TRUE(KilledBySigsys(o)) << mode << ": " << o.ToString();
  }
}

TEST(WorkerPolicyTest, DescribeListsTheKeyRules) {
  absl::StatusOr<Policy> policy = WorkerPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string text = policy->Describe();
  const std::string pid = absl::StrCat(getpid(), " (this process)");
  for (const std::string& expected : std::vector<std::string>{
           "mode enforce",
           "default action: kill the process (SIGSYS)",
           "allow mmap                   arg2 (prot) has no bit outside "
           "PROT_READ|PROT_WRITE|PROT_EXEC",
           "allow clone                  arg0 (flags) == CLONE_VM|CLONE_FS|",
           "errno clone3                 -> ENOSYS",
           "arg1 (op) & 0xfffffe7f in {FUTEX_WAIT, FUTEX_WAKE,",
           "allow kill                   arg0 (pid) == " + pid,
           "allow tgkill                 arg0 (tgid) == " + pid,
           "allow clock_gettime          arg0 (clock) & 0x80000007 == per-thread CPU clock",
           "allow sendto                 arg4 (dest_addr) == NULL",
           "errno ioctl                  -> ENOTTY if arg1 (request) == TCGETS",
           "kill  execve",
           "errno openat                 -> EACCES",
           "allow newfstatat             arg3 (flags) == AT_EMPTY_PATH",
           "kill  creat",
           "kill  socket",
           "kill  io_uring_setup",
           "kill  ptrace",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\n" << text;
  }
  EXPECT_EQ(text.find("allow openat"), std::string::npos);
  EXPECT_EQ(text.find("allow socket"), std::string::npos);
}

TEST(WorkerPolicyTest, LogModeDescribesRefusalsAsLogged) {
  absl::StatusOr<Policy> policy = WorkerPolicy(Mode::kLog);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string text = policy->Describe();
  EXPECT_NE(text.find("mode log"), std::string::npos) << text;
  EXPECT_NE(text.find("log the call (SCMP_ACT_LOG)"), std::string::npos) << text;
  EXPECT_NE(text.find("log   execve"), std::string::npos) << text;
  EXPECT_NE(text.find("errno clone3"), std::string::npos) << text;
}

}  // namespace
}  // namespace kiln::sandbox
