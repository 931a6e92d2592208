// SnapshotCache: hits, byte budget, recency.
#include "scheduler/server/snapshot_cache.h"

#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

TEST(SnapshotCacheTest, KeepsWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  SnapshotCache cache(10);
  cache.Put("a", "fp", "aaaa");
  cache.Put("b", "fp", "bbbb");
  ASSERT_NE(cache.Get("a", "fp"), nullptr);  // a is now the most recent
  cache.Put("c", "fp", "cccc");              // 12 bytes: b goes
  EXPECT_EQ(cache.Get("b", "fp"), nullptr);
  EXPECT_EQ(*cache.Get("a", "fp"), "aaaa");
  EXPECT_EQ(*cache.Get("c", "fp"), "cccc");
  EXPECT_EQ(cache.bytes(), 8u);
  EXPECT_EQ(cache.Get("a", "other-runtime"), nullptr);
  cache.Put("huge", "fp", std::string(11, 'x'));
  EXPECT_EQ(cache.Get("huge", "fp"), nullptr);
  EXPECT_EQ(cache.bytes(), 8u);
}

}  // namespace
}  // namespace kiln::scheduler
