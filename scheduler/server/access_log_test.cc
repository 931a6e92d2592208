// AccessLog: the line format, and that lines reach the file.
#include "scheduler/server/access_log.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace kiln::scheduler {
namespace {

using ::testing::HasSubstr;

gateway::AccessLogEntry Entry() {
  gateway::AccessLogEntry entry;
  entry.request_id = "rid1";
  entry.method = "POST";
  entry.host = "hello.acme.localhost";
  entry.path = "/x?y=1";
  entry.tenant = "acme";
  entry.function = "hello";
  entry.version = 3;
  entry.status = 201;
  entry.bytes = 12;
  entry.duration = absl::Microseconds(412);
  entry.cold = true;
  return entry;
}

TEST(AccessLogTest, OneLineNamesEverything) {
  EXPECT_EQ(AccessLog::Format(Entry(), absl::FromUnixMillis(1795000000123)),
            "2026-11-18T11:06:40.123Z rid1 acme/hello@3 201 12B 0.412ms cold POST "
            "hello.acme.localhost /x?y=1");
  gateway::AccessLogEntry unmatched;
  unmatched.request_id = "rid2";
  unmatched.method = "GET";
  unmatched.path = "/";
  unmatched.status = 404;
  EXPECT_THAT(AccessLog::Format(unmatched, absl::UnixEpoch()), HasSubstr(" rid2 - 404 0B 0.000ms - GET - /"));
}

TEST(AccessLogTest, AnIdleLogIsFlushedWithinASecond) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/idle.log";
  auto log = AccessLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Write(Entry());
  bool seen = false;
  for (int i = 0; i < 30 && !seen; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    std::ifstream in(path);
    std::string line;
    seen = static_cast<bool>(std::getline(in, line)) && !line.empty();
  }
  EXPECT_TRUE(seen) << "the line was not flushed while the log was open";
}

TEST(AccessLogTest, LinesReachTheFileByClose) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/access.log";
  {
    auto log = AccessLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 3; ++i) (*log)->Write(Entry());
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  int lines = 0;
  for (char c : text.str()) lines += c == '\n';
  EXPECT_EQ(lines, 3);
  EXPECT_FALSE(AccessLog::Open("/nonexistent-dir/access.log").ok());
}

}  // namespace
}  // namespace kiln::scheduler
