// Tests for HardenProcess and CloseInheritedDescriptors, each run in a forked
// child whose exit code reports the first failed check (0 = all held).
#include "sandbox/hardening.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace kiln::sandbox {
namespace {

int ExitCodeOf(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(HardeningTest, SetsNoNewPrivsNotDumpableAndLimits) {
  EXPECT_EQ(ExitCodeOf([] {
              struct rlimit nproc_before;
              getrlimit(RLIMIT_NPROC, &nproc_before);
              if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return 1;  // precondition
              if (!HardenProcess({.max_open_files = 64}).ok()) return 2;
              if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 3;
              if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return 4;
              struct rlimit limit;
              getrlimit(RLIMIT_CORE, &limit);
              if (limit.rlim_cur != 0 || limit.rlim_max != 0) return 5;
              getrlimit(RLIMIT_NOFILE, &limit);
              if (limit.rlim_cur != 64 || limit.rlim_max != 64) return 6;
              // RLIMIT_NPROC untouched unless asked for.
              getrlimit(RLIMIT_NPROC, &limit);
              if (limit.rlim_cur != nproc_before.rlim_cur) return 7;
              // The limit bites: descriptors numbered 64 and up cannot be made.
              for (int i = 0; i < 64; ++i) {
                if (dup(0) < 0) return errno == EMFILE ? 0 : 8;
              }
              return 9;  // dup never hit the limit
            }),
            0);
}

TEST(HardeningTest, LimitsAreOnlyLowered) {
  EXPECT_EQ(ExitCodeOf([] {
              struct rlimit low = {32, 48};
              if (setrlimit(RLIMIT_NOFILE, &low) != 0) return 1;
              if (!HardenProcess({.max_open_files = 4096, .max_processes = 100000}).ok()) return 2;
              struct rlimit limit;
              getrlimit(RLIMIT_NOFILE, &limit);
              if (limit.rlim_cur != 48 || limit.rlim_max != 48) return 3;
              getrlimit(RLIMIT_NPROC, &limit);
              if (limit.rlim_max > 100000) return 4;
              return 0;
            }),
            0);
}

TEST(HardeningTest, ClosesAllButStdioAndKeptDescriptors) {
  EXPECT_EQ(ExitCodeOf([] {
              int a[2], b[2];
              if (pipe(a) != 0 || pipe(b) != 0) return 1;
              int high = dup2(a[0], 900);
              if (high != 900) return 2;
              if (!CloseInheritedDescriptors({b[1]}).ok()) return 3;
              if (!IsOpen(0) || !IsOpen(1) || !IsOpen(2)) return 4;
              if (!IsOpen(b[1])) return 5;
              if (IsOpen(a[0]) || IsOpen(a[1]) || IsOpen(b[0]) || IsOpen(900)) return 6;
              return 0;
            }),
            0);
}

TEST(HardeningTest, RefusesNegativeDescriptors) {
  EXPECT_EQ(CloseInheritedDescriptors({-1}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::sandbox
