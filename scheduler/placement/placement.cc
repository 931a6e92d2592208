// PickWorker / PickBuilder: linear scans with explicit tie-breaks.
#include "scheduler/placement/placement.h"

#include <optional>
#include <tuple>

#include "absl/status/status.h"

namespace kiln::scheduler {
namespace {

bool UnderCap(const WorkerView& worker) { return worker.in_flight < worker.max_concurrency; }

double Utilization(const WorkerView& worker) {
  return static_cast<double>(worker.in_flight) / static_cast<double>(worker.max_concurrency);
}

}  // namespace

absl::StatusOr<size_t> PickWorker(absl::Span<const WorkerView> workers,
                                  const PlacementOptions& options) {
  // 1. Warm affinity.
  std::optional<size_t> warm;
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerView& w = workers[i];
    if (!w.loaded || !UnderCap(w)) continue;
    if (!warm) {
      warm = i;
      continue;
    }
    const WorkerView& best = workers[*warm];
    // Idle isolate first, then lower utilization.
    auto key = [](const WorkerView& v) {
      return std::make_tuple(v.idle_isolates == 0, Utilization(v));
    };
    if (key(w) < key(best)) warm = i;
  }
  if (warm && Utilization(workers[*warm]) < options.spill_utilization) return *warm;

  // 2. Spill: the least utilized worker under its cap.
  std::optional<size_t> best;
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerView& w = workers[i];
    if (!UnderCap(w)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const WorkerView& b = workers[*best];
    auto key = [](const WorkerView& v) { return std::make_tuple(Utilization(v), !v.loaded); };
    if (key(w) < key(b)) best = i;
  }
  if (!best) {
    return absl::UnavailableError(workers.empty() ? "no worker is connected"
                                                  : "every worker is at its concurrency cap");
  }
  return *best;
}

absl::StatusOr<size_t> PickBuilder(absl::Span<const BuilderView> workers) {
  if (workers.empty()) return absl::UnavailableError("no worker can build a snapshot now");
  size_t best = 0;
  auto key = [](const BuilderView& v) {
    return std::make_tuple(!v.build_only, v.builds, v.in_flight, v.holds_functions);
  };
  for (size_t i = 1; i < workers.size(); ++i) {
    if (key(workers[i]) < key(workers[best])) best = i;
  }
  return best;
}

}  // namespace kiln::scheduler
