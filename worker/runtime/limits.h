// Per-function limits and their defaults (DESIGN.md "Failure semantics"): CPU
// and wall time per invocation, heap per isolate, response size, and the
// ctx.waitUntil() budget after the response.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kiln::worker {

struct Limits {
  absl::Duration cpu = absl::Milliseconds(50);
  absl::Duration wall = absl::Seconds(30);
  size_t heap_bytes = 128u << 20;
  size_t response_bytes = 32u << 20;
  absl::Duration wait_until = absl::Seconds(30);

  static constexpr absl::Duration kMaxCpu = absl::Seconds(30);
  static constexpr absl::Duration kMaxWall = absl::Minutes(15);
  static constexpr size_t kMinHeapBytes = 16u << 20;
  static constexpr size_t kMaxHeapBytes = 2048u << 20;
  // A buffered response travels in one frame of the worker's stream.
  static constexpr size_t kMaxResponseBytes = 128u << 20;

  // Limits from a function's configuration, where 0 means "the default".
  // InvalidArgument for a value outside the allowed range.
  static absl::StatusOr<Limits> FromConfig(uint32_t cpu_ms, uint32_t wall_ms, uint64_t heap_bytes,
                                           uint64_t response_bytes, uint32_t wait_until_ms);
};

}  // namespace kiln::worker
