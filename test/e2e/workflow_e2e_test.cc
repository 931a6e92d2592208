// The everyday workflow end to end, through the real `kiln` binary and the
// real platform it starts (`kiln up`: kiln-scheduler, sandboxed kiln-workers,
// the HTTP gateway): deploy a folder and a file, call the function over HTTP
// and with `kiln invoke`, read its console output in `kiln logs`, redeploy,
// roll back, delete; the bundled examples deploy and answer; a big bundle goes
// up in chunks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sdk/cli/testing/kiln_process.h"
#include "test/e2e/kiln_platform.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// A function in a folder: kiln.toml names it and its main module, which
// imports a helper and logs each request.
constexpr char kToml[] = R"(name = "greeter"
main = "src/index.js"

[vars]
GREETING = "hello"
)";

constexpr char kIndex[] = R"(import { shout } from "./lib.js";
export default {
  async fetch(request, env) {
    const path = request.url.replace(/^[a-z]+:\/\/[^/]+/, "");
    console.log("greeting", request.method, path);
    return new Response(`${shout(env.GREETING)} from ${path}`, {
      headers: { "x-served-by": "greeter" },
    });
  },
};
)";

constexpr char kLib[] = "export function shout(text) { return text.toUpperCase() + '!'; }\n";

nlohmann::json Json(const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
  return value;
}

// A one-file function answering `text`.
std::string Answering(const std::string& text) {
  return absl::StrCat("export default { fetch() { return new Response(\"", text, "\"); } };\n");
}

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = E2eDir();
    platform_ = KilnPlatform::Start(dir_);
    ASSERT_NE(platform_, nullptr);
  }

  RunResult Kiln(const std::vector<std::string>& args, RunOptions options = {}) {
    return platform_->Kiln(args, std::move(options));
  }

  // `kiln logs NAME` until its output holds every one of `wanted` (log lines
  // travel from the worker apart from the response), at most 10 s.
  std::string LogsHolding(const std::string& name, const std::vector<std::string>& wanted) {
    std::string out;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      RunResult logs = Kiln({"logs", name});
      EXPECT_EQ(logs.exit_code, 0) << logs.err;
      out = logs.out;
      bool all = true;
      for (const std::string& text : wanted) all = all && absl::StrContains(out, text);
      if (all) return out;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "kiln logs " << name << " never showed all of what was expected:\n" << out;
    return out;
  }

  std::string dir_;
  std::unique_ptr<KilnPlatform> platform_;
};

TEST_F(WorkflowTest, DeployAFolderThenCallItOverHttpAndInvokeAndReadItsLogs) {
  WriteFileIn(dir_, "greeter/kiln.toml", kToml);
  WriteFileIn(dir_, "greeter/src/index.js", kIndex);
  WriteFileIn(dir_, "greeter/src/lib.js", kLib);
  const std::string url =
      absl::StrCat("http://greeter.default.localhost:", platform_->http_port(), "/");

  RunResult deployed = Kiln({"deploy", "greeter"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out,
              MatchesRegex("Deployed greeter version 1 in [0-9.]+ s \\(build [0-9]+ ms; 2 files, "
                           "[0-9]+ bytes\\)\n  " +
                           url + "\n"));

  // Through the gateway, as curl would call it.
  HttpResponse response = platform_->Http("greeter", "/hello?x=1");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "HELLO! from /hello?x=1");
  EXPECT_EQ(response.Header("x-served-by"), "greeter");
  const std::string http_request_id = response.Header("kiln-request-id");
  EXPECT_FALSE(http_request_id.empty());

  // Through the API.
  RunResult invoked = Kiln({"invoke", "greeter", "--path", "/via-invoke"});
  EXPECT_EQ(invoked.exit_code, 0) << invoked.err;
  EXPECT_THAT(invoked.out, StartsWith("HTTP 200 OK\n"));
  EXPECT_THAT(invoked.out, HasSubstr("x-served-by: greeter\n"));
  EXPECT_THAT(invoked.out, HasSubstr("\n\nHELLO! from /via-invoke"));
  EXPECT_THAT(invoked.err, MatchesRegex("\\(version 1, (cold|warm), cpu [0-9.]+ ms, wall [0-9.]+ "
                                        "ms, request [0-9a-f]+\\)\n"));
  RunResult posted = Kiln({"invoke", "greeter", "-p", "/p", "-d", "payload", "--json"});
  EXPECT_EQ(posted.exit_code, 0) << posted.err;
  nlohmann::json json = Json(posted.out);
  EXPECT_EQ(json["status"], 200);
  EXPECT_EQ(json["body"], "HELLO! from /p");
  EXPECT_EQ(json["version"], 1);
  const std::string invoke_request_id = json["request_id"];

  // console.log lines, each with the request it belongs to.
  std::string logs = LogsHolding("greeter", {"greeting GET /hello?x=1", "greeting POST /p"});
  EXPECT_THAT(logs, MatchesRegex("(.|\n)*LOG +" + http_request_id +
                                 " +(cold|warm) +greeting GET /hello\\?x=1\n(.|\n)*"));
  EXPECT_THAT(logs, MatchesRegex("(.|\n)*LOG +" + invoke_request_id +
                                 " +(cold|warm) +greeting POST /p\n(.|\n)*"));
  RunResult all = Kiln({"logs", "--json"});
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_THAT(all.out, HasSubstr("\"function\":\"greeter\""));
  EXPECT_THAT(all.out, HasSubstr("\"request_id\":\"" + http_request_id + "\""));

  RunResult listed = Kiln({"list", "--json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  json = Json(listed.out);
  ASSERT_EQ(json["functions"].size(), 1u);
  EXPECT_EQ(json["functions"][0]["name"], "greeter");
  EXPECT_EQ(json["functions"][0]["active_version"], 1);
  EXPECT_EQ(json["functions"][0]["url"], url);
}

TEST_F(WorkflowTest, DeployASingleFileNamedAfterIt) {
  WriteFileIn(dir_, "api.mjs",
              "export default { async fetch(request) {\n"
              "  return new Response(`${request.method} ${await request.text()}`);\n"
              "} };\n");
  RunResult deployed = Kiln({"deploy", "api.mjs"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, StartsWith("Deployed api version 1 in "));
  EXPECT_EQ(platform_->Http("api", "/", "POST", "over http").body, "POST over http");
  RunResult invoked = Kiln({"invoke", "api", "-d", "@-"}, {.stdin_data = "from stdin"});
  EXPECT_EQ(invoked.exit_code, 0) << invoked.err;
  EXPECT_THAT(invoked.out, HasSubstr("\n\nPOST from stdin"));
  // --name deploys the same file as another function.
  deployed = Kiln({"deploy", "api.mjs", "--name", "api-two"});
  EXPECT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_EQ(platform_->Http("api-two", "/").body, "GET ");
}

TEST_F(WorkflowTest, RedeployServesTheNewVersionAndRollbackTheOldOne) {
  WriteFileIn(dir_, "site.js", Answering("one"));
  ASSERT_EQ(Kiln({"deploy", "site.js"}).exit_code, 0);
  EXPECT_EQ(platform_->Http("site").body, "one");
  WriteFileIn(dir_, "site.js", Answering("two"));
  RunResult deployed = Kiln({"deploy", "site.js"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_THAT(deployed.out, StartsWith("Deployed site version 2 in "));
  EXPECT_EQ(platform_->Http("site").body, "two");
  RunResult invoked = Kiln({"invoke", "site"});
  EXPECT_THAT(invoked.out, HasSubstr("\n\ntwo"));
  EXPECT_THAT(invoked.err, StartsWith("(version 2, "));

  // Newest first, the active one marked.
  RunResult versions = Kiln({"versions", "site"});
  EXPECT_EQ(versions.exit_code, 0);
  EXPECT_THAT(versions.out, MatchesRegex(" +VERSION +CREATED +BUNDLE\n"
                                         "\\* +2 +[-0-9]+ [:0-9]+ +[0-9a-f]{12}\n"
                                         " +1 +[-0-9]+ [:0-9]+ +[0-9a-f]{12}\n"));

  RunResult rolled = Kiln({"rollback", "site"});
  EXPECT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_THAT(rolled.out, StartsWith("Rolled site back: version 1 is active (was 2)\n"));
  EXPECT_EQ(platform_->Http("site").body, "one");
  rolled = Kiln({"rollback", "site"});
  EXPECT_EQ(rolled.exit_code, 1);
  EXPECT_THAT(rolled.err, HasSubstr("kiln: cannot roll site back: "));
  EXPECT_THAT(rolled.err, HasSubstr("nothing to roll back to"));
  rolled = Kiln({"rollback", "site", "--to", "2", "--json"});
  EXPECT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_EQ(Json(rolled.out)["active_version"], 2);
  EXPECT_EQ(platform_->Http("site").body, "two");
  rolled = Kiln({"rollback", "site", "--to", "9"});
  EXPECT_EQ(rolled.exit_code, 1);
  EXPECT_THAT(rolled.err, HasSubstr("has no version 9"));
  EXPECT_EQ(platform_->Http("site").body, "two");
}

TEST_F(WorkflowTest, DeleteLeaves404OverHttpAndAnUnknownFunction) {
  WriteFileIn(dir_, "gone.js", Answering("here"));
  ASSERT_EQ(Kiln({"deploy", "gone.js"}).exit_code, 0);
  EXPECT_EQ(platform_->Http("gone").status, 200);
  RunResult deleted = Kiln({"delete", "gone"});  // stdin is not a terminal: no question
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "Deleted gone.\n");

  HttpResponse response = platform_->Http("gone");
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("no function answers at gone.default.localhost"));
  RunResult invoked = Kiln({"invoke", "gone"});
  EXPECT_EQ(invoked.exit_code, 1);
  EXPECT_EQ(invoked.err,
            "kiln: unknown function \"gone\" in tenant \"default\" — see `kiln list` for what is "
            "deployed, or deploy it with `kiln deploy PATH`\n");
  RunResult listed = Kiln({"list"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_THAT(listed.err, HasSubstr("No functions in tenant \"default\" yet"));

  // The name can be used again; version numbers carry on.
  RunResult again = Kiln({"deploy", "gone.js"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, StartsWith("Deployed gone version 2 in "));
  EXPECT_EQ(platform_->Http("gone").body, "here");
}

TEST_F(WorkflowTest, TheExamplesDeployAndAnswer) {
  for (const char* example :
       {"hello", "json-api", "streaming", "queue-consumer", "scheduled-job"}) {
    const std::string path = ::kiln::sdk::cli::testing::Runfile(absl::StrCat("examples/", example));
    RunResult deployed = Kiln({"deploy", path});
    EXPECT_EQ(deployed.exit_code, 0) << example << ": " << deployed.err;
    HttpResponse response = platform_->Http(example, "/");
    EXPECT_EQ(response.status, 200) << example << ": " << response.body;
  }
  EXPECT_EQ(platform_->Http("hello", "/x").body,
            "{\"hello\":\"kiln\",\"method\":\"GET\",\"path\":\"/x\"}");
  HttpResponse created = platform_->Http("json-api", "/todos", "POST", "{\"title\":\"e2e\"}");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(platform_->Http("json-api", "/todos").body, HasSubstr("\"title\":\"e2e\""));
  EXPECT_EQ(platform_->Http("json-api", "/nope").status, 404);
  EXPECT_THAT(platform_->Http("streaming", "/?limit=30").body,
              HasSubstr("2 3 5 7 11 13 17 19 23 29"));
}

TEST_F(WorkflowTest, ABigBundleGoesUpInChunksAndRuns) {
  // 1.5 MiB of module source: two dozen upload chunks.
  const size_t size = 1536 * 1024;
  WriteFileIn(dir_, "big/kiln.toml", "name = \"big\"\n");
  WriteFileIn(
      dir_, "big/index.js",
      absl::StrCat("const pad = \"", std::string(size, 'k'),
                   "\";\nexport default { fetch() { return new Response(String(pad.length)); "
                   "} };\n"));
  RunResult deployed = Kiln({"deploy", "big", "--json"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
  EXPECT_EQ(deployed.err, "");  // --json: no progress, nothing on stderr
  nlohmann::json json = Json(deployed.out);
  EXPECT_EQ(json["version"], 1);
  EXPECT_GT(json["bytes"].get<uint64_t>(), size);
  EXPECT_EQ(platform_->Http("big").body, absl::StrCat(size));
}

}  // namespace
}  // namespace kiln::test
