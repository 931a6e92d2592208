// Tests for PolicyBuilder and Policy with small hand-written policies: the
// builder refuses malformed rules, Describe() renders what was built, and an
// applied policy allows, refuses and restricts arguments as written (each
// applied in a forked child, so the test process stays unconfined).
#include "sandbox/policy_builder.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

namespace kiln::sandbox {
namespace {

// The example from policy_builder.h, plus what libc needs to exit cleanly.
PolicyBuilder ExampleBuilder(Mode mode = Mode::kEnforce) {
  PolicyBuilder builder;
  builder.SetMode(mode)
      .Group("output to inherited descriptors")
      .Allow({__NR_write, __NR_close})
      .AllowIf(__NR_fcntl, {Arg(1, "cmd").Equals32({KILN_NAMED(F_GETFL)})})
      .Group("memory (libseccomp frees its buffers after loading)")
      .Allow({__NR_brk, __NR_munmap})
      .AllowIf(__NR_mmap,
               {Arg(2, "prot").BitsWithin({KILN_NAMED(PROT_READ), KILN_NAMED(PROT_WRITE)})})
      .Group("exit")
      .Allow({__NR_exit, __NR_exit_group})
      .Group("refused")
      .KillProcess({__NR_open, __NR_openat})
      .Errno(__NR_clone3, ENOSYS);
  return builder;
}

// Forks; the child applies `policy`, runs `body` and exits with its result.
// Returns the child's wait status.
int RunConfined(const Policy& policy, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!policy.Apply().ok()) _exit(250);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }
bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

TEST(PolicyBuilderTest, AppliedPolicyAllowsRefusesAndRestrictsArguments) {
  absl::StatusOr<Policy> policy = ExampleBuilder().Build();
  ASSERT_TRUE(policy.ok()) << policy.status();

  // Allowed, unconditionally.
  EXPECT_TRUE(ExitedWith(RunConfined(*policy, [] { return write(2, "", 0) == 0 ? 7 : 1; }), 7));
  // Allowed argument value; the upper half of an int argument is ignored, as
  // the kernel ignores it.
  EXPECT_TRUE(ExitedWith(RunConfined(*policy,
                                     [] {
                                       long a = syscall(SYS_fcntl, 2, F_GETFL);
                                       long b = syscall(SYS_fcntl, 2, (1L << 32) | F_GETFL);
                                       return a >= 0 && b == a ? 7 : 1;
                                     }),
                         7));
  // Another argument value of an allowed syscall: default action.
  EXPECT_TRUE(KilledBySigsys(RunConfined(*policy, [] { return fcntl(2, F_GETFD) >= 0 ? 0 : 1; })));
  // Bits within the allowed set pass, any other bit does not.
  EXPECT_TRUE(ExitedWith(RunConfined(*policy,
                                     [] {
                                       void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                                       return p != MAP_FAILED ? 7 : 1;
                                     }),
                         7));
  EXPECT_TRUE(KilledBySigsys(RunConfined(*policy, [] {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p != MAP_FAILED ? 0 : 1;
  })));
  // Explicitly refused, and not listed at all: both kill.
  EXPECT_TRUE(KilledBySigsys(RunConfined(*policy, [] { return open("/etc/passwd", O_RDONLY); })));
  EXPECT_TRUE(
      KilledBySigsys(RunConfined(*policy, [] { return syscall(SYS_getppid) > 0 ? 0 : 1; })));
  // Errno rule.
  EXPECT_TRUE(ExitedWith(RunConfined(*policy,
                                     [] {
                                       long rc = syscall(SYS_clone3, nullptr, 0);
                                       return rc == -1 && errno == ENOSYS ? 7 : 1;
                                     }),
                         7));
}

TEST(PolicyBuilderTest, LogModeLetsRefusedCallsRun) {
  absl::StatusOr<Policy> policy = ExampleBuilder(Mode::kLog).Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->mode(), Mode::kLog);
  EXPECT_TRUE(ExitedWith(RunConfined(*policy,
                                     [] {
                                       int fd = open("/etc/passwd", O_RDONLY);
                                       return fd >= 0 && syscall(SYS_getppid) > 0 ? 7 : 1;
                                     }),
                         7));
  // Errno rules still apply in log mode.
  EXPECT_TRUE(ExitedWith(
      RunConfined(*policy,
                  [] { return syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS ? 7 : 1; }),
      7));
}

TEST(PolicyBuilderTest, DescribeRendersRulesUnderTheirGroups) {
  absl::StatusOr<Policy> policy = ExampleBuilder().Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->Describe(),
            "seccomp policy, mode enforce\n"
            "default action: kill the process (SIGSYS) -- for every syscall not listed, and for "
            "a listed syscall whose arguments match none of its rules\n"
            "other ABIs (i386 int 0x80, x32): kill the process\n"
            "applied to every thread (TSYNC), with no_new_privs\n"
            "\n[output to inherited descriptors]\n"
            "  allow write\n"
            "  allow close\n"
            "  allow fcntl                  arg1 (cmd) == F_GETFL\n"
            "\n[memory (libseccomp frees its buffers after loading)]\n"
            "  allow brk\n"
            "  allow munmap\n"
            "  allow mmap                   arg2 (prot) has no bit outside PROT_READ|PROT_WRITE\n"
            "\n[exit]\n"
            "  allow exit\n"
            "  allow exit_group\n"
            "\n[refused]\n"
            "  kill  open\n"
            "  kill  openat\n"
            "  errno clone3                 -> ENOSYS\n");
}

TEST(PolicyBuilderTest, DescribeRendersEveryConditionKind) {
  absl::StatusOr<Policy> policy =
      PolicyBuilder()
          .AllowIf(__NR_kill, {Arg(0, "pid").Equals32({-5, 7}), Arg(1).Equals({0})})
          .AllowIf(__NR_futex, {Arg(1, "op").Masked32(0xff, {KILN_NAMED(FUTEX_WAKE)})})
          .ErrnoIf(__NR_ioctl, ENOTTY, {Arg(1).Equals32({0x5401})})
          .Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string text = policy->Describe();
  EXPECT_NE(text.find("allow kill                   arg0 (pid) in {-5, 7} and arg1 == 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("allow futex                  arg1 (op) & 0xff == FUTEX_WAKE\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("errno ioctl                  -> ENOTTY if arg1 == 21505\n"),
            std::string::npos)
      << text;
}

TEST(PolicyBuilderTest, RefusesMalformedRules) {
  auto code = [](const PolicyBuilder& builder) { return builder.Build().status().code(); };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(PolicyBuilder().Allow(__NR_read)), absl::StatusCode::kOk);
  EXPECT_EQ(code(PolicyBuilder().Allow(99999)), kInvalid);
  EXPECT_EQ(code(PolicyBuilder().AllowIf(__NR_read, {Arg(6).Equals({0})})), kInvalid);
  EXPECT_EQ(code(PolicyBuilder().AllowIf(__NR_read, {Arg(0).Equals({0}), Arg(0).Equals({1})})),
            kInvalid);
  EXPECT_EQ(code(PolicyBuilder().AllowIf(__NR_read, {Arg(0).Equals({})})), kInvalid);
  // An allow beside a kill for the same syscall is a mistake, either order.
  EXPECT_EQ(code(PolicyBuilder().Allow(__NR_socket).KillProcess(__NR_socket)), kInvalid);
  EXPECT_EQ(
      code(PolicyBuilder().KillProcess(__NR_socket).AllowIf(__NR_socket, {Arg(0).Equals({1})})),
      kInvalid);
  EXPECT_EQ(code(PolicyBuilder().Errno(__NR_clone3, 0)), kInvalid);
  EXPECT_EQ(code(PolicyBuilder().Errno(__NR_clone3, 5000)), kInvalid);
  // Conditional rules with different actions may share a syscall.
  EXPECT_EQ(code(PolicyBuilder()
                     .AllowIf(__NR_ioctl, {Arg(1).Equals32({1})})
                     .ErrnoIf(__NR_ioctl, ENOTTY, {Arg(1).Equals32({2})})),
            absl::StatusCode::kOk);
}

TEST(PolicyBuilderTest, ApplyReportsAThreadItCannotSynchronise) {
  absl::StatusOr<Policy> policy = ExampleBuilder().Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  pid_t pid = fork();
  if (pid == 0) {
    // A thread with a filter of its own (no TSYNC): its filter stack is not an
    // ancestor of the new one, so the kernel cannot synchronise it.
    int ready[2], done[2];
    if (pipe(ready) != 0 || pipe(done) != 0) _exit(1);
    std::thread loner([&] {
      scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
      bool ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(acct), 0) == 0 &&
                seccomp_load(ctx) == 0;
      seccomp_release(ctx);
      (void)!write(ready[1], ok ? "y" : "n", 1);
      char c;
      (void)!read(done[0], &c, 1);
    });
    char c = 0;
    if (read(ready[0], &c, 1) != 1 || c != 'y') _exit(2);
    absl::Status status = policy->Apply();
    (void)!write(done[1], "x", 1);
    loner.join();
    _exit(status.code() == absl::StatusCode::kFailedPrecondition ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
}

TEST(PolicyBuilderTest, CompilesToBpf) {
  absl::StatusOr<Policy> policy = ExampleBuilder().Build();
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<size_t> count = policy->BpfInstructionCount();
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_GT(*count, 10u);
  EXPECT_LT(*count, 200u);
}

}  // namespace
}  // namespace kiln::sandbox
