// For tests that build snapshots while isolates exist: one builder process per
// test binary, started by test_main.cc before anything else runs.
#pragma once

#include "worker/runtime/builder.h"

namespace kiln::worker::testing {

// The test binary's builder process (worker/api runtime).
SnapshotBuilder& TestBuilder();

}  // namespace kiln::worker::testing
