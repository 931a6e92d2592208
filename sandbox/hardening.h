// Process hardening that complements the seccomp policy: no_new_privs, not
// dumpable, resource limits, and closing descriptors inherited from the parent.
// kiln-worker calls CloseInheritedDescriptors() first thing in main() and
// HardenProcess() (through ConfineWorker, confine.h) just before the filter.
#pragma once

#include <sys/resource.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kiln::sandbox {

// Limits HardenProcess() sets. Limits are only ever lowered: a requested value
// above the current hard limit is clamped to it.
struct HardeningOptions {
  // RLIMIT_NOFILE, soft and hard. Descriptors already open stay valid even when
  // numbered above it; it bounds what the confined process can still create
  // (epoll, eventfd, timerfd, pipe, dup).
  rlim_t max_open_files = 256;
  // RLIMIT_NPROC, soft and hard, when set. Careful: the kernel counts every
  // process *and thread* of the real user id (per user namespace), not of this
  // process, so on a host running many workers under one uid a small value
  // makes unrelated thread creation fail. Not enforced for root outside a user
  // namespace. Unset (the default) leaves it unchanged; fork is refused by
  // the seccomp policy regardless.
  std::optional<rlim_t> max_processes;
};

// Hardens the calling process, in this order:
//  - PR_SET_NO_NEW_PRIVS: execve can never grant privileges (set-uid bits, file
//    capabilities). Per-thread in the kernel; the seccomp filter load with TSYNC
//    extends it to every thread.
//  - PR_SET_DUMPABLE 0: no core dumps, no ptrace attach by same-uid processes,
//    /proc/<pid>/ files owned by root.
//  - RLIMIT_CORE 0, RLIMIT_NOFILE, and RLIMIT_NPROC if requested.
// Call it once the process holds every descriptor it needs and no longer reads
// its own /proc entries. Returns Internal with the errno text if a step fails
// (the earlier steps stay applied).
absl::Status HardenProcess(const HardeningOptions& options = {});

// Closes every descriptor except stdin, stdout, stderr and `keep`, so nothing
// a parent leaked (sockets, files, pipes) survives into the worker. Call it at
// the start of main(), before any library (gRPC, libuv, V8) opens descriptors
// of its own: it cannot tell those from inherited ones. Uses close_range(2),
// falling back to closing each open descriptor listed in /proc/self/fd.
// Returns InvalidArgument for a negative descriptor in `keep`, Internal if
// descriptors could not be listed or closed.
absl::Status CloseInheritedDescriptors(absl::Span<const int> keep = {});

}  // namespace kiln::sandbox
