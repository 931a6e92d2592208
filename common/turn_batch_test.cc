// TurnBatch: deferral only while the calling thread gathers, in order.
#include "common/turn_batch.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace kiln {
namespace {

TEST(TurnBatchTest, NotGatheringMeansStartNow) {
  bool ran = false;
  absl::AnyInvocable<void()> start = [&] { ran = true; };
  EXPECT_FALSE(TurnBatch::Defer(start));
  EXPECT_FALSE(ran);  // the caller runs it
}

TEST(TurnBatchTest, EndRunsWhatWasDeferredInOrderAndStopsGathering) {
  std::string order;
  TurnBatch::Begin();
  absl::AnyInvocable<void()> a = [&] { order += "a"; };
  absl::AnyInvocable<void()> b = [&] { order += "b"; };
  EXPECT_TRUE(TurnBatch::Defer(a));
  EXPECT_TRUE(TurnBatch::Defer(b));
  EXPECT_EQ(order, "");
  TurnBatch::End();
  EXPECT_EQ(order, "ab");
  absl::AnyInvocable<void()> c = [&] { order += "c"; };
  EXPECT_FALSE(TurnBatch::Defer(c));
  TurnBatch::End();  // nothing left: a no-op
  EXPECT_EQ(order, "ab");
}

TEST(TurnBatchTest, OnlyTheGatheringThreadDefers) {
  TurnBatch::Begin();
  bool deferred_elsewhere = true;
  std::thread other([&] {
    absl::AnyInvocable<void()> start = [] {};
    deferred_elsewhere = TurnBatch::Defer(start);
  });
  other.join();
  EXPECT_FALSE(deferred_elsewhere);
  TurnBatch::End();
}

TEST(TurnBatchTest, AStartDeferredByADeferredStartRunsAtOnce) {
  std::string order;
  TurnBatch::Begin();
  absl::AnyInvocable<void()> outer = [&] {
    order += "outer";
    absl::AnyInvocable<void()> inner = [&] { order += "+inner"; };
    if (!TurnBatch::Defer(inner)) inner();
  };
  EXPECT_TRUE(TurnBatch::Defer(outer));
  TurnBatch::End();
  EXPECT_EQ(order, "outer+inner");
}

}  // namespace
}  // namespace kiln
