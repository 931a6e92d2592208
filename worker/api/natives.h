// The C++ side of the JavaScript APIs: natives the runtime script calls
// (logging, timers, clock, randomness, UTF-8), and the RuntimeSpec that
// every function snapshot is built on.
#pragma once

#include "worker/js/native.h"

namespace kiln::worker::api {

// The Kiln runtime: worker/api/js/*.js plus the natives below. Process-wide,
// immutable.
const js::RuntimeSpec& KilnRuntime();

}  // namespace kiln::worker::api
