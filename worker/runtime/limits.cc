// Validation of per-function limits.
#include "worker/runtime/limits.h"

#include "absl/strings/str_cat.h"

namespace kiln::worker {

absl::StatusOr<Limits> Limits::FromConfig(uint32_t cpu_ms, uint32_t wall_ms, uint64_t heap_bytes,
                                          uint64_t response_bytes, uint32_t wait_until_ms) {
  Limits limits;
  if (cpu_ms != 0) limits.cpu = absl::Milliseconds(cpu_ms);
  if (wall_ms != 0) limits.wall = absl::Milliseconds(wall_ms);
  if (heap_bytes != 0) limits.heap_bytes = heap_bytes;
  if (response_bytes != 0) limits.response_bytes = response_bytes;
  if (wait_until_ms != 0) limits.wait_until = absl::Milliseconds(wait_until_ms);
  if (limits.cpu > kMaxCpu) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu limit ", cpu_ms, " ms is above the maximum of 30000 ms"));
  }
  if (limits.wall > kMaxWall) {
    return absl::InvalidArgumentError(
        absl::StrCat("wall time limit ", wall_ms, " ms is above the maximum of 900000 ms"));
  }
  if (limits.heap_bytes < kMinHeapBytes || limits.heap_bytes > kMaxHeapBytes) {
    return absl::InvalidArgumentError(absl::StrCat("heap limit ", heap_bytes >> 20,
                                                   " MiB is outside 16..2048 MiB"));
  }
  if (limits.response_bytes > kMaxResponseBytes) {
    return absl::InvalidArgumentError(absl::StrCat("response size limit ", response_bytes >> 20,
                                                   " MiB is above the maximum of 128 MiB"));
  }
  if (limits.wait_until > kMaxWall) {
    return absl::InvalidArgumentError(
        absl::StrCat("waitUntil budget ", wait_until_ms, " ms is above the maximum of 900000 ms"));
  }
  return limits;
}

}  // namespace kiln::worker
