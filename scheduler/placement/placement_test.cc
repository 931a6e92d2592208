// PickWorker / PickBuilder: warm affinity, idle isolates, spill, caps, build
// roles.
#include "scheduler/placement/placement.h"

#include <vector>

#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

WorkerView Cold(uint32_t in_flight, uint32_t cap = 10) {
  return {.in_flight = in_flight, .max_concurrency = cap};
}
WorkerView Warm(uint32_t in_flight, uint32_t idle = 0, uint32_t cap = 10) {
  return {.in_flight = in_flight, .max_concurrency = cap, .loaded = true, .idle_isolates = idle};
}

TEST(PickWorkerTest, NoWorkersIsUnavailable) {
  absl::StatusOr<size_t> pick = PickWorker({});
  EXPECT_EQ(pick.status().code(), absl::StatusCode::kUnavailable);
}

TEST(PickWorkerTest, PrefersTheWorkerThatHoldsTheVersion) {
  std::vector<WorkerView> workers = {Cold(0), Warm(2), Cold(1)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, PrefersAnIdleWarmIsolateOverALessLoadedWarmWorker) {
  std::vector<WorkerView> workers = {Warm(1, /*idle=*/0), Warm(3, /*idle=*/1)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, AmongWarmWorkersTheLeastUtilized) {
  std::vector<WorkerView> workers = {Warm(4), Warm(2), Warm(3)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, UtilizationIsRelativeToEachCap) {
  // 3 of 4 is busier than 4 of 64.
  std::vector<WorkerView> workers = {Warm(3, 0, 4), Warm(4, 0, 64)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, SpillsToTheLeastLoadedWhenWarmWorkersAreBusy) {
  // The warm worker is at 60% utilization; a cold one is idle.
  std::vector<WorkerView> workers = {Warm(6), Cold(0), Cold(2)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, StaysWarmWhenSpillingWouldNotHelp) {
  // Above the spill threshold, but nothing is less utilized: the warm one wins the tie.
  std::vector<WorkerView> workers = {Cold(6), Warm(6)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickWorkerTest, SpillThresholdIsAnOption) {
  std::vector<WorkerView> workers = {Warm(6), Cold(0)};
  EXPECT_EQ(*PickWorker(workers, {.spill_utilization = 0.9}), 0u);
  EXPECT_EQ(*PickWorker(workers, {.spill_utilization = 0.5}), 1u);
}

TEST(PickWorkerTest, NeverAWorkerAtItsCap) {
  std::vector<WorkerView> workers = {Warm(10, 3), Cold(9)};
  EXPECT_EQ(*PickWorker(workers), 1u);
  workers = {Warm(10, 3), Cold(10)};
  absl::StatusOr<size_t> pick = PickWorker(workers);
  EXPECT_EQ(pick.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pick.status().message(), "every worker is at its concurrency cap");
}

TEST(PickWorkerTest, ZeroCapTakesNothing) {
  std::vector<WorkerView> workers = {Warm(0, 1, /*cap=*/0)};
  EXPECT_FALSE(PickWorker(workers).ok());
}

TEST(PickWorkerTest, ColdTiesGoToTheLowestIndex) {
  std::vector<WorkerView> workers = {Cold(1), Cold(0), Cold(0)};
  EXPECT_EQ(*PickWorker(workers), 1u);
}

TEST(PickBuilderTest, BuildOnlyWorkersFirstThenTheLeastBusy) {
  std::vector<BuilderView> workers = {
      {.holds_functions = true, .in_flight = 1},
      {.holds_functions = false, .in_flight = 5},
      {.build_only = true, .builds = 2},
  };
  EXPECT_EQ(*PickBuilder(workers), 2u);
  workers.pop_back();
  EXPECT_EQ(*PickBuilder(workers), 0u);  // fewer invocations in flight
  workers = {{.holds_functions = true}, {.holds_functions = false}};
  EXPECT_EQ(*PickBuilder(workers), 1u);  // a tie goes to the one holding nothing
  workers = {{.builds = 1}, {.builds = 0, .in_flight = 9}};
  EXPECT_EQ(*PickBuilder(workers), 1u);  // builds queue behind builds
}

TEST(PickBuilderTest, FewestPendingBuildsWithinAGroup) {
  std::vector<BuilderView> workers = {{.build_only = true, .builds = 1},
                                      {.build_only = true, .builds = 0}};
  EXPECT_EQ(*PickBuilder(workers), 1u);
}

TEST(PickBuilderTest, NoneIsUnavailable) {
  EXPECT_EQ(PickBuilder({}).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kiln::scheduler
