// AccessLog: the line format, and that lines reach the file.
#include "scheduler/server/access_log.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// The line as printf-style formatting writes it: what Format must match.
std::string Reference(const gateway::AccessLogEntry& entry, absl::Time at) {
  const std::string function =
      entry.function.empty() ? "-" : absl::StrCat(entry.tenant, "/", entry.function, "@", entry.version);
  return absl::StrFormat("%s %s %s %d %dB %.3fms %s %s %s %s",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone()),
                         entry.request_id, function, entry.status, entry.bytes,
                         absl::ToDoubleMilliseconds(entry.duration),
                         entry.function.empty() ? "-" : entry.cold ? "cold" : "warm", entry.method,
                         entry.host.empty() ? "-" : entry.host, entry.path);
}

TEST(AccessLogTest, TimesAndDurationsPrintAsPrintfWould) {
  gateway::AccessLogEntry entry = Entry();
  std::vector<absl::Duration> durations = {
      absl::ZeroDuration(),        absl::Nanoseconds(499),      absl::Nanoseconds(500),
      absl::Nanoseconds(501),      absl::Nanoseconds(1500),     absl::Nanoseconds(2500),
      absl::Microseconds(999'999) + absl::Nanoseconds(500),    absl::Nanoseconds(999'999'500),
      absl::Nanoseconds(500) + absl::Nanoseconds(1) / 4,       absl::Nanoseconds(499) + absl::Nanoseconds(3) / 4,
      absl::Milliseconds(-3),      absl::Hours(2) + absl::Nanoseconds(1234567),
      absl::Hours(1) - absl::Nanoseconds(1),
  };
  std::vector<absl::Time> times = {
      absl::UnixEpoch(),
      absl::UnixEpoch() - absl::Milliseconds(1),
      absl::UnixEpoch() - absl::Nanoseconds(1),
      absl::FromUnixMillis(1795000000999) + absl::Microseconds(999),
      absl::FromCivil(absl::CivilSecond(1899, 12, 31, 23, 59, 59), absl::UTCTimeZone()) + absl::Milliseconds(5),
      absl::FromCivil(absl::CivilSecond(12345, 1, 1, 0, 0, 0), absl::UTCTimeZone()),
      absl::InfiniteFuture(),
      absl::InfinitePast(),
  };
  absl::BitGen random;
  for (int i = 0; i < 20000; ++i) {
    durations.push_back(absl::Nanoseconds(absl::Uniform<int64_t>(random, 0, 5'000'000'000)));
    durations.push_back(absl::Microseconds(absl::Uniform<int64_t>(random, 0, 100'000)) + absl::Nanoseconds(500));
    times.push_back(absl::FromUnixNanos(absl::Uniform<int64_t>(random, -4'000'000'000'000'000'000, 4'000'000'000'000'000'000)));
  }
  gateway::AccessLogEntry unmatched;
  unmatched.request_id = "0123456789abcdef";
  unmatched.method = "DELETE";
  unmatched.path = "/a b";
  unmatched.status = -1;
  unmatched.bytes = ~size_t{0};
  entry.version = ~uint64_t{0};
  for (absl::Duration duration : durations) {
    for (gateway::AccessLogEntry* e : {&entry, &unmatched}) {
      e->duration = duration;
      e->cold = !e->cold;
      ASSERT_EQ(AccessLog::Format(*e, absl::UnixEpoch()), Reference(*e, absl::UnixEpoch()))
          << absl::FormatDuration(duration);
    }
  }
  for (absl::Time at : times) {
    ASSERT_EQ(AccessLog::Format(entry, at), Reference(entry, at)) << at;
  }
}

TEST(AccessLogTest, ManyLinesReachTheFileInOrder) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/many.log";
  // Enough to pass the writer's wake-up mark many times, and the pending cap
  // (Write then writes the backlog itself) whenever the writer falls behind.
  const int lines = static_cast<int>(3 * AccessLog::kMaxPendingBytes / 100);
  {
    auto log = AccessLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    gateway::AccessLogEntry entry = Entry();
    for (int i = 0; i < lines; ++i) {
      entry.request_id = absl::StrCat("r", i);
      (*log)->Write(entry);
    }
  }
  std::ifstream in(path);
  std::string line;
  int i = 0;
  while (std::getline(in, line)) {
    ASSERT_THAT(line, HasSubstr(absl::StrCat(" r", i, " acme/hello@3 201 12B 0.412ms cold POST ")));
    ++i;
  }
  EXPECT_EQ(i, lines);
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
