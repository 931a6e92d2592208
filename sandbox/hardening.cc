// Process hardening beside the seccomp policy: prctl flags, rlimits, and
// closing inherited descriptors.
#include "sandbox/hardening.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace kiln::sandbox {
namespace {

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

// Lowers `resource` to `value` (soft and hard), never raising the hard limit.
absl::Status LowerLimit(int resource, rlim_t value, const char* name) {
  struct rlimit current;
  if (getrlimit(resource, &current) != 0) return ErrnoError(absl::StrCat("getrlimit ", name));
  rlim_t target = current.rlim_max == RLIM_INFINITY ? value : std::min(value, current.rlim_max);
  struct rlimit wanted = {target, target};
  if (setrlimit(resource, &wanted) != 0) return ErrnoError(absl::StrCat("setrlimit ", name));
  return absl::OkStatus();
}

// Closes [first, last] with close_range; false if the kernel lacks it.
bool CloseRange(unsigned first, unsigned last) {
  if (first > last) return true;
  return syscall(SYS_close_range, first, last, 0) == 0;
}

absl::Status CloseByListing(const std::vector<int>& keep) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return ErrnoError("opendir /proc/self/fd");
  std::vector<int> open_fds;
  const int dir_fd = dirfd(dir);
  while (struct dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name || fd == dir_fd) continue;
    open_fds.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  for (int fd : open_fds) {
    if (fd <= 2 || std::binary_search(keep.begin(), keep.end(), fd)) continue;
    if (close(fd) != 0 && errno != EBADF) return ErrnoError(absl::StrCat("close ", fd));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HardenProcess(const HardeningOptions& options) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ErrnoError("PR_SET_NO_NEW_PRIVS");
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return ErrnoError("PR_SET_DUMPABLE");
  KILN_RETURN_IF_ERROR(LowerLimit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  KILN_RETURN_IF_ERROR(LowerLimit(RLIMIT_NOFILE, options.max_open_files, "RLIMIT_NOFILE"));
  if (options.max_processes.has_value()) {
    KILN_RETURN_IF_ERROR(LowerLimit(RLIMIT_NPROC, *options.max_processes, "RLIMIT_NPROC"));
  }
  return absl::OkStatus();
}

absl::Status CloseInheritedDescriptors(absl::Span<const int> keep) {
  std::vector<int> sorted(keep.begin(), keep.end());
  for (int fd : sorted) {
    if (fd < 0) return absl::InvalidArgumentError(absl::StrCat("negative descriptor ", fd));
  }
  sorted.push_back(0);
  sorted.push_back(1);
  sorted.push_back(2);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

  // Close the gaps between kept descriptors, then everything above the last.
  unsigned next = 0;
  bool ok = true;
  for (int fd : sorted) {
    if (static_cast<unsigned>(fd) > next) ok = ok && CloseRange(next, fd - 1);
    next = static_cast<unsigned>(fd) + 1;
  }
  ok = ok && CloseRange(next, UINT_MAX);
  if (ok) return absl::OkStatus();
  if (errno != ENOSYS && errno != EPERM) return ErrnoError("close_range");
  return CloseByListing(sorted);  // a kernel before 5.9, or a filter refusing it
}

}  // namespace kiln::sandbox
