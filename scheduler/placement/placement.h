// Placement: which worker an invocation of a function version goes to, and
// which worker builds a deploy's snapshot. Pure functions over a snapshot of
// the fleet's state (the Fleet builds the views under its lock and calls these
// on every dispatch), so the policy is unit-tested without processes.
//
// Invocations: warm affinity first (a worker that already holds the version,
// with an idle isolate of it ahead of one without), spilling to the least
// loaded worker once the warm ones are busy; never a worker at its concurrency
// cap. Builds: a build-only worker, else the least busy one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kiln::scheduler {

// One worker as placement sees it for one function version.
struct WorkerView {
  uint32_t in_flight = 0;        // invocations dispatched to it and not answered
  uint32_t max_concurrency = 0;  // its cap (Register.max_concurrency); 0 takes nothing
  bool loaded = false;           // the version is loaded (or being loaded) there
  uint32_t idle_isolates = 0;    // idle warm isolates of the version, per its last heartbeat
};

struct PlacementOptions {
  // A warm worker is preferred while its utilization (in_flight /
  // max_concurrency) is below this; above it the invocation goes to the
  // least utilized worker, warm or not (ties go to the warm one).
  double spill_utilization = 0.5;
};

// The index in `workers` of the worker to run the invocation on:
//   1. among workers under their cap that hold the version, the one with an
//      idle isolate of it, then the least utilized, then the lowest index —
//      if its utilization is below `spill_utilization`;
//   2. otherwise the least utilized worker under its cap (warm before cold on
//      a tie, then the lowest index).
// Unavailable when every worker is at its cap (or there are none).
absl::StatusOr<size_t> PickWorker(absl::Span<const WorkerView> workers,
                                  const PlacementOptions& options = {});

// One worker as placement sees it for a snapshot build.
struct BuilderView {
  bool build_only = false;       // reserved for builds (never placed for invocations)
  bool holds_functions = false;  // has loaded versions (an older kiln-worker with live
                                 // isolates cannot build: see scheduler/README.md)
  uint32_t builds = 0;           // builds sent to it and not answered
  uint32_t in_flight = 0;        // invocations in flight there
};

// The index of the worker to build on: build-only workers first; then the
// fewest pending builds, the fewest invocations in flight, one holding no
// function, the lowest index. Unavailable when `workers` is empty.
absl::StatusOr<size_t> PickBuilder(absl::Span<const BuilderView> workers);

}  // namespace kiln::scheduler
