// Proves libseccomp is linked and its filters bite: a child process under a
// filter that forbids openat is killed by SIGSYS when it tries to open a file,
// while a child under the same filter that stays within it exits normally.
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

// Runs `body` in a forked child confined by a filter that kills the process
// on open/openat and allows everything else. Returns the waitpid status.
template <typename Body>
int RunConfined(Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr) _exit(90);
    if (seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(openat), 0) != 0) _exit(91);
    if (seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(open), 0) != 0) _exit(92);
    if (seccomp_load(ctx) != 0) _exit(93);
    seccomp_release(ctx);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(SeccompTest, ForbiddenSyscallKillsChild) {
  int status = RunConfined([] { return open("/etc/passwd", O_RDONLY) >= 0 ? 0 : 1; });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(SeccompTest, AllowedSyscallsStillWork) {
  int status = RunConfined([] { return getpid() > 0 ? 7 : 1; });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

}  // namespace
