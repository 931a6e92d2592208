// The syscall allowlist of a kiln-worker once it is initialised: V8 running
// tenant JavaScript (JIT, GC, WebAssembly) plus the event loops that carry its
// one gRPC stream to the scheduler, on descriptors opened before confinement.
#pragma once

#include "absl/status/statusor.h"
#include "sandbox/policy.h"

namespace kiln::sandbox {

// Builds the worker policy for the calling process. The rationale of each
// group of rules is in worker_policy.cc and in `Describe()`'s headings.
//
// In short: memory management with prot limited to R|W|X; threads only as
// pthreads; futex, clocks, sleeps; I/O, polling and event/timer descriptors
// but no way to obtain a new connection; signals only to this process; a few
// prctl options. Opening or stat-ing a path fails with EACCES (V8, glibc and
// ICU probe files lazily and cope). Dangerous syscalls (exec, fork, ptrace,
// mount, bpf, io_uring, sockets, ...) kill the process; clone3 fails with
// ENOSYS so glibc falls back to clone. Anything unlisted gets the mode's
// default action.
//
// What the embedder must do before confinement, because it cannot happen
// after: V8 -- v8::V8::SetEntropySource (else its generators read
// /dev/urandom, get EACCES and fall back to clock-based seeds); ICU/Date --
// touch the time zone once (e.g. run `new Date().toString()`), else it
// silently becomes UTC; everything else -- open every file and connection.
//
// The policy embeds getpid() as the only allowed target of kill/tgkill/tkill,
// so build it in the process that will apply it (after any fork).
//
// Returns the builder's errors (Internal for a libseccomp failure,
// FailedPrecondition for a kernel without KILL_PROCESS).
absl::StatusOr<Policy> WorkerPolicy(Mode mode = Mode::kEnforce);

}  // namespace kiln::sandbox
