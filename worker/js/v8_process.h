// Process-wide V8 setup for kiln-worker: flags, platform, entropy. Every
// isolate, snapshot build and fingerprint in the process goes through here.
#pragma once

#include <cstdint>
#include <string>

#include "worker/js/native.h"

namespace v8 {
class Platform;
}  // namespace v8

namespace kiln::worker::js {

// Initialises V8 once per process (later calls are no-ops, whatever their
// seed): sets Kiln's V8 flags, seeds V8's random number generators from
// getrandom(2) (so nothing opens /dev/urandom inside the sandbox) and starts
// the platform's background threads.
//
// `hash_seed` is the string-hash seed. Debian's V8 keeps it in the read-only
// heap that all isolates of a process share, so it is per process, not per
// isolate; and a snapshot holding ES modules cannot be rehashed, so a blob only
// works where the seed it was built with is in force. Every worker of a
// cluster therefore runs with the cluster's seed (a secret the scheduler
// hands out); 0 picks a random one, for single-process use and tests. The
// seed's digest is part of the runtime fingerprint.
void InitializeV8(uint64_t hash_seed = 0);

// V8's default platform created by InitializeV8() (for PumpMessageLoop).
v8::Platform* V8Platform();

// The clock JavaScript sees, in ms since the Unix epoch: while a
// FrozenClockScope is open on this thread, the time it was opened; else now.
// Date.now(), new Date() and performance.now() read it.
double ClockMillis();

// Freezes ClockMillis() on this thread for a turn of JavaScript, so code can
// measure time only across I/O (as on hosted Workers: a timing side channel
// needs a clock that moves while it computes).
class FrozenClockScope {
 public:
  FrozenClockScope();
  ~FrozenClockScope();
  FrozenClockScope(const FrozenClockScope&) = delete;
  FrozenClockScope& operator=(const FrozenClockScope&) = delete;
};

// V8's version string, e.g. "10.2.154.26-node.36".
std::string V8Version();

// The V8 flags every Kiln isolate runs with (besides the hash seed). Part of
// the fingerprint.
const char* KilnV8Flags();

// Identifies everything a snapshot depends on besides its bundle: V8 version,
// V8 flags, the runtime script and its natives, the blob format. A snapshot
// with another fingerprint is refused.
std::string RuntimeFingerprint(const RuntimeSpec& spec);

}  // namespace kiln::worker::js
