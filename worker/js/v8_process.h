// Process-wide V8 setup for kiln-worker: flags, platform, entropy. Every
// isolate, snapshot build and fingerprint in the process goes through here.
#pragma once

#include <string>

#include "worker/js/native.h"

namespace v8 {
class Platform;
}  // namespace v8

namespace kiln::worker::js {

// Initialises V8 once per process (later calls are no-ops): sets Kiln's fixed
// V8 flags, seeds V8 from getrandom(2) (so nothing opens /dev/urandom inside
// the sandbox) and starts the platform's background threads.
void InitializeV8();

// The platform created by InitializeV8().
v8::Platform* V8Platform();

// V8's version string, e.g. "10.2.154.26-node.36".
std::string V8Version();

// The V8 flags every Kiln isolate runs with. Part of the fingerprint.
const char* KilnV8Flags();

// Identifies everything a snapshot depends on besides its bundle: V8 version,
// V8 flags, the runtime script and its natives, the blob format. A snapshot
// with another fingerprint is refused.
std::string RuntimeFingerprint(const RuntimeSpec& spec);

}  // namespace kiln::worker::js
