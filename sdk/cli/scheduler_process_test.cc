// The pieces of `kiln up` that do not need a child process: the scheduler's
// command line, its "listening" announcement, and finding its binary.
#include "sdk/cli/scheduler_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "sdk/cli/testing/kiln_process.h"

namespace kiln::sdk::cli {
namespace {

TEST(SchedulerProcessTest, CommandLineMatchesTheSchedulersFlags) {
  SchedulerCommand command;
  command.binary = "/opt/kiln-scheduler";
  command.data_dir = ".kiln";
  // No --workers given: the scheduler's own default.
  EXPECT_THAT(SchedulerArgv(command),
              ::testing::ElementsAre("/opt/kiln-scheduler", "--data-dir", ".kiln", "--api",
                                     "127.0.0.1:7000", "--http", "127.0.0.1:8080",
                                     "--base-domain", "localhost"));
  command.workers = 2;
  EXPECT_THAT(SchedulerArgv(command),
              ::testing::ElementsAre("/opt/kiln-scheduler", "--data-dir", ".kiln", "--api",
                                     "127.0.0.1:7000", "--workers", "2", "--http", "127.0.0.1:8080",
                                     "--base-domain", "localhost"));
}

TEST(SchedulerProcessTest, ParsesTheListeningLine) {
  EXPECT_EQ(ParseListeningLine("kiln-scheduler: api listening on 127.0.0.1:7000"),
            "127.0.0.1:7000");
  EXPECT_EQ(ParseListeningLine("kiln-scheduler: api listening on [::1]:43 (4 workers)"),
            "[::1]:43");
  EXPECT_EQ(ParseListeningLine("kiln-scheduler: http listening on 127.0.0.1:8080"), std::nullopt);
  EXPECT_EQ(ParseListeningLine("kiln-scheduler: api listening on "), std::nullopt);
  EXPECT_EQ(ParseHttpListeningLine("kiln-scheduler: http listening on 127.0.0.1:39001"),
            "127.0.0.1:39001");
  EXPECT_EQ(ParseHttpListeningLine("kiln-scheduler: api listening on 127.0.0.1:7000"),
            std::nullopt);
}

TEST(SchedulerProcessTest, FindsTheBinaryFromTheFlagOrTheEnvironment) {
  const std::string fake = testing::Runfile("sdk/testing/fake-kiln-scheduler");
  EXPECT_EQ(FindSchedulerBinary(fake).value(), fake);
  absl::StatusOr<std::string> missing = FindSchedulerBinary("/nonexistent/kiln-scheduler");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("--scheduler-binary names"));
  setenv("KILN_SCHEDULER_BINARY", fake.c_str(), 1);
  EXPECT_EQ(FindSchedulerBinary("").value(), fake);
  unsetenv("KILN_SCHEDULER_BINARY");
}

TEST(SchedulerProcessTest, FindsTheBinaryOnPath) {
  namespace fs = std::filesystem;
  const std::string dir = testing::TestDir();
  fs::copy_file(testing::Runfile("sdk/testing/fake-kiln-scheduler"), dir + "/kiln-scheduler");
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", (dir + ":" + path).c_str(), 1);
  absl::StatusOr<std::string> found = FindSchedulerBinary("");
  setenv("PATH", path.c_str(), 1);
  // A kiln-scheduler built beside this test binary would win; either is right.
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ::testing::EndsWith("kiln-scheduler"));
}

}  // namespace
}  // namespace kiln::sdk::cli
