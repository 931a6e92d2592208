// Entering new, empty Linux namespaces: kiln-worker's earliest confinement
// step, taken at start-up while the process still has a single thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace kiln::sandbox {

// A set of namespaces: the ones asked for, or the ones entered.
struct Namespaces {
  bool user = false;
  bool mount = false;
  bool network = false;

  // "user+mount+network", "mount+network", ..., or "none".
  std::string ToString() const;
};

// Moves the calling process into new namespaces:
//  - user: the process keeps its uid/gid (mapped one-to-one, setgroups denied),
//    but its capabilities now apply only inside the new namespaces, never to
//    the host -- a worker started as root loses root's power over host
//    resources.
//  - network: an empty network stack, only a loopback device that is down: no
//    route anywhere, not even to 127.0.0.1. Sockets created *before* the call
//    keep working, so connect to the scheduler first (or inherit the
//    connection) and build the gRPC channel on that descriptor
//    (grpc::CreateInsecureChannelFromFd); a worker that must dial later cannot
//    ask for this one.
//  - mount: a private copy of the mount table (propagation set to private), so
//    nothing mounted inside leaks out. The filesystem view itself is unchanged;
//    the seccomp policy is what refuses open().
// User namespaces are tried first; where the kernel refuses unprivileged ones
// (EPERM/ENOSPC/EUSERS), mount and network alone are tried, which works for a
// privileged process.
//
// MUST run before any thread exists: unshare(CLONE_NEWUSER) fails with EINVAL
// in a multi-threaded process, and the other namespaces would apply only to
// the calling thread. Call it at the start of main(), before V8's platform,
// gRPC, libuv or anything else starts a thread.
//
// Returns the namespaces entered (those asked for, or mount+network without
// user). Returns FailedPrecondition if the process has more than one thread;
// PermissionDenied if the kernel allows none of the requested namespaces (the
// caller logs it and continues unconfined by namespaces); Internal if a
// namespace was entered but could not be set up (uid/gid maps, mount
// propagation) -- the process is then already inside it.
absl::StatusOr<Namespaces> EnterEmptyNamespaces(Namespaces wanted = {
                                                    .user = true, .mount = true, .network = true});

}  // namespace kiln::sandbox
