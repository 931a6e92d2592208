// ConfineWorker: the one call kiln-worker makes, after it has connected to the
// scheduler and before any tenant code loads, to harden itself and apply the
// worker seccomp policy to every thread.
//
// The worker's start-up sequence, earliest first:
//   1. main(): CloseInheritedDescriptors({...})            (hardening.h)
//   2. main(): EnterEmptyNamespaces(), log if it fails       (namespaces.h)
//      -- both while single-threaded, before V8/gRPC/libuv start threads
//   3. connect to the scheduler; v8::V8::SetEntropySource, initialise V8's
//      platform; warm up (touch the time zone once, open every file needed)
//   4. ConfineWorker({.mode = ...})                          (this file)
//   5. run tenant code
// `kiln-worker --print-policy` prints WorkerPolicy(mode)->Describe().
#pragma once

#include "absl/status/status.h"
#include "sandbox/hardening.h"
#include "sandbox/policy.h"

namespace kiln::sandbox {

// What ConfineWorker applies: the policy's mode and the hardening limits.
struct ConfineOptions {
  Mode mode = Mode::kEnforce;
  HardeningOptions hardening;
};

// Builds the worker policy (worker_policy.h), hardens the process
// (HardenProcess) and applies the policy to all threads. Irreversible. After
// it returns OK, any syscall outside the policy kills the process (or, in
// Mode::kLog, is logged by the kernel); nothing can open a file or a socket
// any more, so everything the worker needs must already be open or loaded.
//
// Opening or stat-ing a path fails with EACCES rather than killing (V8,
// glibc and ICU probe files lazily and cope); see worker_policy.h for what
// must therefore happen before this call.
//
// On error the process may be partly hardened but has no filter; the caller
// must not run tenant code and should exit. Returns the status of the failing
// step: FailedPrecondition (a thread could not be synchronised, or the kernel
// lacks KILL_PROCESS), PermissionDenied, or Internal.
absl::Status ConfineWorker(const ConfineOptions& options = {});

}  // namespace kiln::sandbox
