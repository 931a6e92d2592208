// EnterEmptyNamespaces: unshare(2) into user, mount and network namespaces,
// then the set-up each needs (uid/gid maps, private mount propagation).
#include "sandbox/namespaces.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::sandbox {
namespace {

// Number of threads of this process, or -1 if /proc is unavailable.
int CountThreads() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int count = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

absl::Status WriteFile(const char* path, std::string_view content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", strerror(errno)));
  ssize_t n = write(fd, content.data(), content.size());
  int write_errno = errno;
  close(fd);
  if (n != static_cast<ssize_t>(content.size())) {
    return absl::InternalError(
        absl::StrCat("write ", path, ": ", n < 0 ? strerror(write_errno) : "short write"));
  }
  return absl::OkStatus();
}

// Maps the process's own ids one-to-one. setgroups must be denied before an
// unprivileged process may write gid_map.
absl::Status MapOwnIds(uid_t uid, gid_t gid) {
  if (absl::Status s = WriteFile("/proc/self/setgroups", "deny"); !s.ok()) return s;
  if (absl::Status s = WriteFile("/proc/self/uid_map", absl::StrCat(uid, " ", uid, " 1\n"));
      !s.ok()) {
    return s;
  }
  return WriteFile("/proc/self/gid_map", absl::StrCat(gid, " ", gid, " 1\n"));
}

}  // namespace

std::string Namespaces::ToString() const {
  std::vector<const char*> names;
  if (user) names.push_back("user");
  if (mount) names.push_back("mount");
  if (network) names.push_back("network");
  return names.empty() ? "none" : absl::StrJoin(names, "+");
}

absl::StatusOr<Namespaces> EnterEmptyNamespaces(Namespaces wanted) {
  const int threads = CountThreads();
  if (threads > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("EnterEmptyNamespaces must run before any thread starts; the process has ",
                     threads, " threads"));
  }
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  const int other_flags = (wanted.mount ? CLONE_NEWNS : 0) | (wanted.network ? CLONE_NEWNET : 0);

  Namespaces entered;
  std::string refusals;
  if (wanted.user) {
    if (unshare(CLONE_NEWUSER | other_flags) == 0) {
      entered = wanted;
    } else if (errno == EINVAL && threads < 0) {
      return absl::FailedPreconditionError(
          "unshare(CLONE_NEWUSER): EINVAL; the process is probably multi-threaded");
    } else {
      absl::StrAppend(&refusals, "user namespace: ", strerror(errno), "; ");
    }
  }
  if (!entered.user && other_flags != 0) {
    if (unshare(other_flags) == 0) {
      entered.mount = wanted.mount;
      entered.network = wanted.network;
    } else {
      absl::StrAppend(&refusals, Namespaces{false, wanted.mount, wanted.network}.ToString(),
                      " namespaces: ", strerror(errno));
    }
  }
  if (!entered.user && !entered.mount && !entered.network) {
    if (!wanted.user && other_flags == 0) return entered;  // nothing asked
    return absl::PermissionDeniedError(
        absl::StrCat("the kernel allows none of the requested namespaces (", refusals, ")"));
  }
  if (entered.user) {
    if (absl::Status s = MapOwnIds(uid, gid); !s.ok()) {
      return absl::InternalError(
          absl::StrCat("entered ", entered.ToString(), " namespaces, but ", s.message()));
    }
  }
  if (entered.mount && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("entered ", entered.ToString(),
                     " namespaces, but making mounts private failed: ", strerror(errno)));
  }
  return entered;
}

}  // namespace kiln::sandbox
