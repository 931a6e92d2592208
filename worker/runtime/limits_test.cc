// Tests of per-function limit configuration: defaults, overrides, bounds.
#include "worker/runtime/limits.h"

#include <gtest/gtest.h>

namespace kiln::worker {
namespace {

TEST(LimitsTest, ZeroMeansDefault) {
  absl::StatusOr<Limits> limits = Limits::FromConfig(0, 0, 0, 0, 0);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->cpu, absl::Milliseconds(50));
  EXPECT_EQ(limits->wall, absl::Seconds(30));
  EXPECT_EQ(limits->heap_bytes, 128u << 20);
  EXPECT_EQ(limits->wait_until, absl::Seconds(30));
}

TEST(LimitsTest, OverridesWithinBounds) {
  absl::StatusOr<Limits> limits = Limits::FromConfig(30000, 60000, 256u << 20, 1u << 20, 5000);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->cpu, absl::Seconds(30));
  EXPECT_EQ(limits->wall, absl::Minutes(1));
  EXPECT_EQ(limits->heap_bytes, 256u << 20);
  EXPECT_EQ(limits->response_bytes, 1u << 20);
  EXPECT_EQ(limits->wait_until, absl::Seconds(5));
}

TEST(LimitsTest, OutOfRangeIsInvalidArgument) {
  EXPECT_EQ(Limits::FromConfig(30001, 0, 0, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Limits::FromConfig(0, 900001, 0, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Limits::FromConfig(0, 0, 1u << 20, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Limits::FromConfig(0, 0, 4096ull << 20, 0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Limits::FromConfig(0, 0, 0, 0, 900001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Limits::FromConfig(0, 0, 0, (128u << 20) + 1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Limits::FromConfig(0, 0, 0, 128u << 20, 0).ok());
}

}  // namespace
}  // namespace kiln::worker
