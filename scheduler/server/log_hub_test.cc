// LogHub: per-tenant backlog, function filter, follow without gaps, drops,
// close.
#include "scheduler/server/log_hub.h"

#include <thread>

#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

kiln::v1::LogEntry Entry(const std::string& tenant, const std::string& function,
                         const std::string& message) {
  kiln::v1::LogEntry entry;
  entry.set_tenant(tenant);
  entry.set_function(function);
  entry.set_message(message);
  return entry;
}

std::vector<std::string> Messages(const std::vector<kiln::v1::LogEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.message());
  return out;
}

TEST(LogHubTest, BacklogIsPerTenantBoundedAndFiltered) {
  LogHub hub(/*per_tenant=*/3);
  hub.OnLogs({Entry("a", "f", "1"), Entry("b", "f", "secret"), Entry("a", "g", "2"),
              Entry("a", "f", "3"), Entry("a", "f", "4")});
  EXPECT_EQ(Messages(hub.Recent("a", "", 10)), (std::vector<std::string>{"2", "3", "4"}));
  EXPECT_EQ(Messages(hub.Recent("a", "f", 10)), (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(Messages(hub.Recent("a", "", 1)), (std::vector<std::string>{"4"}));
  EXPECT_EQ(Messages(hub.Recent("b", "", 10)), (std::vector<std::string>{"secret"}));
  EXPECT_TRUE(hub.Recent("c", "", 10).empty());
}

TEST(LogHubTest, FollowersGetLaterEntriesOfTheirTenantOnly) {
  LogHub hub;
  hub.OnLogs({Entry("a", "f", "old")});
  std::vector<kiln::v1::LogEntry> recent;
  auto sub = hub.Follow("a", "f", 5, &recent);
  EXPECT_EQ(Messages(recent), (std::vector<std::string>{"old"}));
  std::thread producer([&] {
    hub.OnLogs({Entry("b", "f", "other tenant"), Entry("a", "g", "other function"),
                Entry("a", "f", "new")});
  });
  producer.join();
  auto next = sub->Next(absl::Seconds(1));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Messages(*next), (std::vector<std::string>{"new"}));
  next = sub->Next(absl::Milliseconds(10));
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->empty());
}

TEST(LogHubTest, ASlowFollowerDropsTheOldestAndIsTold) {
  LogHub hub;
  std::vector<kiln::v1::LogEntry> recent;
  auto sub = hub.Follow("a", "", 0, &recent);
  std::vector<kiln::v1::LogEntry> many;
  for (size_t i = 0; i < LogHub::kMaxQueued + 5; ++i)
    many.push_back(Entry("a", "f", std::to_string(i)));
  hub.OnLogs(many);
  auto next = sub->Next(absl::Seconds(1));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->size(), LogHub::kMaxQueued);
  EXPECT_EQ(next->front().message(), "5");
  EXPECT_EQ(sub->TakeDropped(), 5u);
  EXPECT_EQ(sub->TakeDropped(), 0u);
}

TEST(LogHubTest, CloseEndsFollowers) {
  LogHub hub;
  std::vector<kiln::v1::LogEntry> recent;
  auto sub = hub.Follow("a", "", 0, &recent);
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    hub.Close();
  });
  const absl::Time start = absl::Now();
  while (sub->Next(absl::Seconds(5)).has_value()) {
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  closer.join();
}

}  // namespace
}  // namespace kiln::scheduler
