// `kiln up` and `kiln dev` with a stand-in kiln-scheduler
// (//sdk/testing:fake-kiln-scheduler, same flags and start-up contract): the
// flags passed down, the ready message, Ctrl-C forwarded for a clean stop,
// the scheduler's exit status passed up, and dev's redeploy on change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "sdk/cli/testing/kiln_process.h"

namespace kiln::sdk::cli {
namespace {

using ::kiln::sdk::cli::testing::KilnProcess;
using ::kiln::sdk::cli::testing::Runfile;
using ::kiln::sdk::cli::testing::RunKiln;
using ::kiln::sdk::cli::testing::RunOptions;
using ::kiln::sdk::cli::testing::RunResult;
using ::kiln::sdk::cli::testing::TestDir;
using ::kiln::sdk::cli::testing::WriteFile;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    options_.cwd = dir_;
    options_.env["KILN_SCHEDULER_BINARY"] = Runfile("sdk/testing/fake-kiln-scheduler");
  }

  std::string dir_;
  RunOptions options_;
};

TEST_F(PlatformTest, UpRunsTheSchedulerWithItsFlagsAndStopsCleanlyOnCtrlC) {
  std::unique_ptr<KilnProcess> up = KilnProcess::Start(
      {"up", "--api", "127.0.0.1:0", "--http", "127.0.0.1:8181", "--workers", "3"}, options_);
  ASSERT_TRUE(up->WaitFor("Ctrl-C stops Kiln.\n", absl::Seconds(20))) << up->out() << up->err();
  EXPECT_THAT(up->out(), HasSubstr("kiln-scheduler: api listening on 127.0.0.1:"));
  EXPECT_THAT(up->out(), HasSubstr("functions answer at http://NAME.default.localhost:8181/"));
  EXPECT_THAT(up->out(), HasSubstr("the default tenant's token is in .kiln/default.token"));
  EXPECT_EQ(ReadFile(dir_ + "/.kiln/fake-args"),
            "--data-dir .kiln --api 127.0.0.1:0 --workers 3 --http 127.0.0.1:8181 "
            "--base-domain localhost");

  // The platform it started answers the other commands from this folder.
  WriteFile(dir_ + "/hello.js", "export default { fetch() { return new Response('hi'); } };\n");
  RunResult deployed = RunKiln({"deploy", "hello.js"}, options_);
  EXPECT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, HasSubstr("Deployed hello version 1"));

  up->Signal(SIGINT);
  RunResult result = up->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("kiln-scheduler: SIGINT, draining\nkiln-scheduler: stopped\n"));
  EXPECT_THAT(result.err, HasSubstr("kiln: stopping kiln-scheduler"));
}

TEST_F(PlatformTest, UpIsReadyOnlyOnceTheSchedulerWritesItsAddressAfresh) {
  // An api.addr left by an earlier run on the same fixed port holds the very
  // address the new scheduler will announce; only a fresh one means ready.
  const int port = ::kiln::sdk::cli::testing::ClosedPort();
  const std::string api = absl::StrCat("127.0.0.1:", port);
  WriteFile(dir_ + "/.kiln/api.addr", api + "\n");
  std::filesystem::last_write_time(
      dir_ + "/.kiln/api.addr",
      std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  options_.env["FAKE_SCHEDULER_READY_DELAY_MS"] = "1500";
  const absl::Time start = absl::Now();
  std::unique_ptr<KilnProcess> up = KilnProcess::Start({"up", "--api", api}, options_);
  ASSERT_TRUE(up->WaitFor("Ctrl-C stops Kiln.\n", absl::Seconds(20))) << up->out() << up->err();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_THAT(up->out(), HasSubstr(absl::StrCat("kiln: Kiln is up. API ", api, ";")));
  up->Signal(SIGINT);
  EXPECT_EQ(up->Finish().exit_code, 0);
}

TEST_F(PlatformTest, UpPassesSigtermOnAndExitsWithTheSchedulersStatus) {
  options_.env["FAKE_SCHEDULER_EXIT_STATUS"] = "7";
  std::unique_ptr<KilnProcess> up =
      KilnProcess::Start({"up", "--api", "127.0.0.1:0", "--data-dir", "state"}, options_);
  ASSERT_TRUE(up->WaitFor("Ctrl-C stops Kiln.\n", absl::Seconds(20))) << up->err();
  EXPECT_THAT(up->out(), HasSubstr("--data-dir state"));  // the hint keeps a non-default dir
  up->Signal(SIGTERM);
  RunResult result = up->Finish();
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_THAT(result.out, HasSubstr("kiln-scheduler: SIGTERM, draining"));
  EXPECT_THAT(result.err, HasSubstr("kiln: kiln-scheduler exited with status 7"));
}

TEST_F(PlatformTest, UpJsonReportsEvents) {
  std::unique_ptr<KilnProcess> up =
      KilnProcess::Start({"up", "--api", "127.0.0.1:0", "--json"}, options_);
  ASSERT_TRUE(up->WaitFor("\"event\":\"ready\"", absl::Seconds(20))) << up->out();
  up->Signal(SIGINT);
  RunResult result = up->Finish();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
  std::vector<std::string> events;
  for (absl::string_view line : absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << line;
    events.push_back(json["event"]);
    if (json["event"] == "ready") {
      EXPECT_EQ(json["token_file"], ".kiln/default.token");
      EXPECT_EQ(json["http"], "127.0.0.1:8080");
    }
  }
  EXPECT_THAT(events, ::testing::Contains("ready"));
  EXPECT_EQ(events.back(), "exited");
}

TEST_F(PlatformTest, UpExplainsASchedulerThatDiesAtStart) {
  options_.env["FAKE_SCHEDULER_FAIL_AT_START"] = "1";
  RunResult result = RunKiln({"up"}, options_);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("kiln-scheduler: cannot listen on 127.0.0.1:7000"));
  EXPECT_THAT(result.err,
              HasSubstr("kiln: kiln-scheduler exited with status 1 before it was ready"));
  EXPECT_THAT(result.err, HasSubstr("Pick free ports with --api / --http"));
}

TEST_F(PlatformTest, UpWithoutASchedulerBinarySaysHowToGetOne) {
  options_.env["KILN_SCHEDULER_BINARY"] = dir_ + "/nope";
  RunResult result = RunKiln({"up"}, options_);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("KILN_SCHEDULER_BINARY names " + dir_ +
                                    "/nope, which is not an executable file"));
  result = RunKiln({"up", "--scheduler-binary", dir_}, options_);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--scheduler-binary names"));
}

TEST_F(PlatformTest, UpRefusesABadListenAddress) {
  RunResult result = RunKiln({"up", "--http", "8080"}, options_);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("--http: \"8080\" is not HOST:PORT"));
}

TEST_F(PlatformTest, DevDeploysThenRedeploysOnEveryChange) {
  WriteFile(dir_ + "/fn/kiln.toml", "name = \"fn\"\nexclude = [\"*.md\"]\n");
  WriteFile(dir_ + "/fn/index.js", "export default { fetch() { return new Response('1'); } };\n");
  std::unique_ptr<KilnProcess> dev =
      KilnProcess::Start({"dev", "fn", "--api", "127.0.0.1:0"}, options_);
  ASSERT_TRUE(dev->WaitFor("Deployed fn version 1", absl::Seconds(20))) << dev->err();
  EXPECT_THAT(dev->err(), HasSubstr("[kiln-scheduler] kiln-scheduler: api listening on"));

  // A change to a module: redeployed.
  WriteFile(dir_ + "/fn/lib.js", "export const two = 2;\n");
  ASSERT_TRUE(dev->WaitFor("Deployed fn version 2", absl::Seconds(10))) << dev->err();
  EXPECT_THAT(dev->err(), HasSubstr("kiln dev: changed: lib.js"));

  // A change to an excluded file: nothing new to deploy.
  WriteFile(dir_ + "/fn/NOTES.md", "notes");
  ASSERT_TRUE(dev->WaitFor("the bundle is what is deployed already", absl::Seconds(10), true))
      << dev->err();

  // A syntax error: reported with the caret, and dev keeps watching.
  WriteFile(dir_ + "/fn/lib.js", "export const two = !!!;\n");
  ASSERT_TRUE(dev->WaitFor("fn/lib.js:1:20: SyntaxError", absl::Seconds(10), true)) << dev->err();
  EXPECT_THAT(dev->err(), HasSubstr("  1 | export const two = !!!;\n"
                                    "    |                    ^\n"));
  WriteFile(dir_ + "/fn/lib.js", "export const two = 22;\n");
  ASSERT_TRUE(dev->WaitFor("Deployed fn version 3", absl::Seconds(10))) << dev->err();

  // The platform it runs answers other commands.
  RunResult list = RunKiln({"list"}, options_);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\nfn    3    "));

  dev->Signal(SIGINT);
  RunResult result = dev->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("kiln dev: stopping Kiln"));
  EXPECT_THAT(result.err, HasSubstr("[kiln-scheduler] kiln-scheduler: stopped"));
}

TEST_F(PlatformTest, DevJsonEmitsOneEventPerLine) {
  WriteFile(dir_ + "/one.js", "export default { fetch() { return new Response('1'); } };\n");
  std::unique_ptr<KilnProcess> dev =
      KilnProcess::Start({"dev", "one.js", "--api", "127.0.0.1:0", "--json"}, options_);
  ASSERT_TRUE(dev->WaitFor("\"event\":\"deployed\"", absl::Seconds(20))) << dev->out();
  WriteFile(dir_ + "/one.js", "export default { fetch() { return new Response('2'); } };\n!!!\n");
  ASSERT_TRUE(dev->WaitFor("\"event\":\"deploy_failed\"", absl::Seconds(10))) << dev->out();
  dev->Signal(SIGINT);
  RunResult result = dev->Finish();
  EXPECT_EQ(result.exit_code, 0);
  std::vector<std::string> events;
  for (absl::string_view line : absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << line;
    if (json["event"] == "scheduler") continue;
    events.push_back(json["event"]);
    if (json["event"] == "deploy_failed") {
      EXPECT_EQ(json["error"]["code"], "BUILD_FAILED");
      EXPECT_EQ(json["error"]["line"], 2);
    }
  }
  EXPECT_THAT(events,
              ::testing::ElementsAre("ready", "deployed", "changed", "deploy_failed", "stopped"));
}

TEST_F(PlatformTest, DevOfNothingIsAUsageError) {
  RunResult result = RunKiln({"dev", "missing"}, options_);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("nothing at missing"));
}

}  // namespace
}  // namespace kiln::sdk::cli
