// The platform's own life end to end: `kiln up` on ports 0 says where it
// really listens; Ctrl-C (SIGINT) lets an in-flight request finish and exits
// 0; a second `kiln up` on the same data dir serves everything deployed before
// (versions, active pointers, secrets); a second `kiln up` while the first
// holds the data dir fails clearly; `kiln dev` deploys and redeploys on change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "test/e2e/kiln_platform.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Answering(const std::string& text) {
  return absl::StrCat("export default { fetch() { return new Response(\"", text, "\"); } };\n");
}

TEST(LifecycleTest, UpOnPortZeroAnnouncesTheRealPorts) {
  const std::string dir = E2eDir();
  std::unique_ptr<KilnPlatform> platform = KilnPlatform::Start(dir);
  ASSERT_NE(platform, nullptr);
  EXPECT_NE(platform->http_port(), 0);
  const std::string out = platform->process().out();
  EXPECT_THAT(out, HasSubstr(absl::StrCat("kiln: Kiln is up. API ", platform->api(),
                                          "; functions answer at http://NAME.default.localhost:",
                                          platform->http_port(), "/\n")));
  EXPECT_THAT(out, HasSubstr("kiln: the default tenant's token is in .kiln/default.token."));
  // Deploy answers with the real URL too.
  WriteFileIn(dir, "hello.js", Answering("hi"));
  RunResult deployed = platform->Kiln({"deploy", "hello.js"});
  EXPECT_THAT(
      deployed.out,
      HasSubstr(absl::StrCat("  http://hello.default.localhost:", platform->http_port(), "/\n")));
  RunResult stopped = platform->Stop(SIGINT);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;

  // --json: a ready event with both real addresses.
  std::unique_ptr<KilnProcess> up = KilnProcess::Start(
      {"up", "--api", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--json"},
      {.cwd = dir,
       .env = {{"KILN_SCHEDULER_BINARY",
                ::kiln::sdk::cli::testing::Runfile("scheduler/server/kiln-scheduler")}}});
  ASSERT_TRUE(up->WaitFor("\"event\":\"ready\"", absl::Seconds(60))) << up->out() << up->err();
  up->Signal(SIGINT);
  RunResult result = up->Finish();
  EXPECT_EQ(result.exit_code, 0);
  bool ready = false;
  for (absl::string_view line : absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    if (event["event"] != "ready") continue;
    ready = true;
    EXPECT_EQ(event["api"], FirstLineOf(dir + "/.kiln/api.addr"));
    EXPECT_EQ(event["http"], FirstLineOf(dir + "/.kiln/http.addr"));
    EXPECT_THAT(event["http"].get<std::string>(), Not(::testing::EndsWith(":0")));
  }
  EXPECT_TRUE(ready);
}

TEST(LifecycleTest, CtrlCLetsAnInFlightRequestFinishAndExitsZero) {
  const std::string dir = E2eDir();
  std::unique_ptr<KilnPlatform> platform = KilnPlatform::Start(dir);
  ASSERT_NE(platform, nullptr);
  WriteFileIn(dir, "slow.js",
              "export default { async fetch() {\n"
              "  console.log('started');\n"
              "  await new Promise((resolve) => setTimeout(resolve, 1500));\n"
              "  return new Response('finished');\n"
              "} };\n");
  ASSERT_EQ(platform->Kiln({"deploy", "slow.js"}).exit_code, 0);

  HttpResponse response;
  std::thread request([&] { response = platform->Http("slow"); });
  // Wait until the request runs (its log line is out), then stop.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         platform->Kiln({"logs", "slow"}).out.find("started") == std::string::npos) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Time stop = absl::Now();
  RunResult stopped = platform->Stop(SIGINT);
  request.join();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "finished");
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_LT(absl::Now() - stop, absl::Seconds(10));
  EXPECT_THAT(stopped.err, HasSubstr("kiln: stopping kiln-scheduler (draining; Ctrl-C again to "
                                     "force)"));
  // Nothing listens any more.
  HttpRequest probe;
  probe.host = "slow.default.localhost";
  EXPECT_FALSE(HttpFetch(platform->http(), probe).ok());
}

TEST(LifecycleTest, ASecondUpOnTheSameDataDirServesWhatWasDeployed) {
  const std::string dir = E2eDir();
  std::string first_api;
  {
    std::unique_ptr<KilnPlatform> platform = KilnPlatform::Start(dir);
    ASSERT_NE(platform, nullptr);
    first_api = platform->api();
    WriteFileIn(dir, "keeper/kiln.toml", "name = \"keeper\"\nsecrets = [\"TOKEN\"]\n");
    WriteFileIn(dir, "keeper/index.js",
                "export default { fetch(request, env) { return new Response(env.TOKEN); } };\n");
    ASSERT_EQ(platform->Kiln({"secrets", "set", "TOKEN", "--value", "kept"}).exit_code, 0);
    ASSERT_EQ(platform->Kiln({"deploy", "keeper"}).exit_code, 0);
    WriteFileIn(dir, "site.js", Answering("one"));
    ASSERT_EQ(platform->Kiln({"deploy", "site.js"}).exit_code, 0);
    WriteFileIn(dir, "site.js", Answering("two"));
    ASSERT_EQ(platform->Kiln({"deploy", "site.js"}).exit_code, 0);
    ASSERT_EQ(platform->Kiln({"rollback", "site"}).exit_code, 0);  // version 1 active
    EXPECT_EQ(platform->Stop(SIGINT).exit_code, 0);
  }
  std::unique_ptr<KilnPlatform> again = KilnPlatform::Start(dir);
  ASSERT_NE(again, nullptr);
  RunResult listed = again->Kiln({"list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json functions = nlohmann::json::parse(listed.out)["functions"];
  ASSERT_EQ(functions.size(), 2u);
  EXPECT_EQ(functions[0]["name"], "keeper");
  EXPECT_EQ(functions[1]["name"], "site");
  EXPECT_EQ(functions[1]["active_version"], 1);
  EXPECT_EQ(functions[1]["url"],
            absl::StrCat("http://site.default.localhost:", again->http_port(), "/"));
  EXPECT_EQ(again->Http("site").body, "one");
  EXPECT_EQ(again->Http("keeper").body, "kept");
  RunResult versions = again->Kiln({"versions", "site", "--json"});
  EXPECT_EQ(nlohmann::json::parse(versions.out)["versions"].size(), 2u);
  RunResult rolled = again->Kiln({"rollback", "site", "--to", "2"});
  EXPECT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_EQ(again->Http("site").body, "two");
  RunResult secrets = again->Kiln({"secrets", "list"});
  EXPECT_EQ(secrets.out, "NAME   USED BY\nTOKEN  keeper\n");
}

TEST(LifecycleTest, ASecondUpOnADataDirInUseFailsClearly) {
  const std::string dir = E2eDir();
  std::unique_ptr<KilnPlatform> platform = KilnPlatform::Start(dir);
  ASSERT_NE(platform, nullptr);
  RunResult second =
      RunKilnIn(dir, {"up", "--api", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("kiln-scheduler: opening the store in .kiln"));
  EXPECT_THAT(second.err,
              HasSubstr("kiln: kiln-scheduler exited with status 1 before it was ready"));
  // The first one is untouched.
  WriteFileIn(dir, "ok.js", Answering("still fine"));
  ASSERT_EQ(platform->Kiln({"deploy", "ok.js"}).exit_code, 0);
  EXPECT_EQ(platform->Http("ok").body, "still fine");
}

TEST(LifecycleTest, DevDeploysAndRedeploysOnEveryChange) {
  const std::string dir = E2eDir();
  WriteFileIn(dir, "app/kiln.toml", "name = \"app\"\n");
  WriteFileIn(dir, "app/index.js", Answering("first"));
  std::unique_ptr<KilnProcess> dev = KilnProcess::Start(
      {"dev", "app", "--api", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1"},
      {.cwd = dir,
       .env = {{"KILN_SCHEDULER_BINARY",
                ::kiln::sdk::cli::testing::Runfile("scheduler/server/kiln-scheduler")}}});
  ASSERT_TRUE(dev->WaitFor("Deployed app version 1", absl::Seconds(60)))
      << dev->out() << dev->err();
  HttpRequest request;
  request.host = "app.default.localhost";
  const std::string http = FirstLineOf(dir + "/.kiln/http.addr");
  EXPECT_THAT(dev->err(), HasSubstr(absl::StrCat("(API ", FirstLineOf(dir + "/.kiln/api.addr"),
                                                 ", HTTP ", http, ")")));
  absl::StatusOr<HttpResponse> response = HttpFetch(http, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "first");

  WriteFileIn(dir, "app/index.js", Answering("second"));
  ASSERT_TRUE(dev->WaitFor("Deployed app version 2", absl::Seconds(30))) << dev->err();
  response = HttpFetch(http, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "second");

  WriteFileIn(dir, "app/index.js", "export default {\n  fetch( {\n};\n");
  ASSERT_TRUE(dev->WaitFor("app/index.js:3:2: SyntaxError: Unexpected token ';'\n  3 | };\n",
                           absl::Seconds(30), /*in_stderr=*/true))
      << dev->err();
  response = HttpFetch(http, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "second");  // the broken save changed nothing

  dev->Signal(SIGINT);
  RunResult result = dev->Finish();
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace
}  // namespace kiln::test
