// The `kiln` binary against an in-process fake kiln.v1.Control: what users see
// and which exit code they get for each outcome — deploys (human and --json),
// build errors with the source line and caret, bad kiln.toml, no server, bad
// token, unknown functions, invoke results, logs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sdk/cli/testing/kiln_process.h"
#include "sdk/testing/fake_control.h"

namespace kiln::sdk::cli {
namespace {

using ::kiln::sdk::cli::testing::ClosedPort;
using ::kiln::sdk::cli::testing::KilnProcess;
using ::kiln::sdk::cli::testing::RunKiln;
using ::kiln::sdk::cli::testing::RunOptions;
using ::kiln::sdk::cli::testing::RunResult;
using ::kiln::sdk::cli::testing::TestDir;
using ::kiln::sdk::cli::testing::WriteFile;
using ::kiln::sdk::testing::FakeControl;
using ::kiln::sdk::testing::FakeControlServer;
using ::kiln::sdk::testing::FakeToken;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHello[] =
    "// hello\n"
    "export default {\n"
    "  async fetch(request) { return new Response('hi'); },\n"
    "};\n";

class CliTest : public ::testing::Test {
 protected:
  CliTest() : service_(FakeToken("default")) {}

  void SetUp() override {
    server_ = FakeControlServer::Start(&service_);
    ASSERT_NE(server_, nullptr);
    dir_ = TestDir();
    WriteFile(dir_ + "/hello/kiln.toml", "name = \"hello\"\nmain = \"index.js\"\n");
    WriteFile(dir_ + "/hello/index.js", kHello);
  }

  // Runs kiln in the test dir, pointed at the fake with the right token.
  RunResult Kiln(std::vector<std::string> args, RunOptions options = {}) {
    if (options.cwd.empty()) options.cwd = dir_;
    options.env.emplace("KILN_API", server_->address());
    options.env.emplace("KILN_TOKEN", FakeToken("default"));
    return RunKiln(args, options);
  }

  static nlohmann::json Json(const std::string& text) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
    return value;
  }

  void DeployHello() {
    RunResult deployed = Kiln({"deploy", "hello"});
    ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  }

  FakeControl service_;
  std::unique_ptr<FakeControlServer> server_;
  std::string dir_;
};

TEST_F(CliTest, DeployPrintsVersionUrlAndTimeTaken) {
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out,
              ::testing::MatchesRegex(
                  "Deployed hello version 1 in [0-9]+\\.[0-9][0-9] s \\(build 12 ms; "
                  "1 file, [0-9]+ bytes\\)\n  http://hello\\.default\\.localhost:8080/\n"));
  EXPECT_EQ(result.err, "");
  ASSERT_EQ(service_.deploys().size(), 1u);
  const kiln::v1::DeployRequest sent = service_.deploys()[0];
  EXPECT_EQ(sent.tenant(), "default");
  EXPECT_EQ(sent.name(), "hello");
  EXPECT_EQ(sent.bundle().main_module(), "index.js");
  ASSERT_EQ(sent.bundle().files_size(), 1);  // kiln.toml itself is not bundled
  EXPECT_EQ(sent.bundle().files(0).content(), kHello);
}

TEST_F(CliTest, DeployJsonIsOneDocument) {
  RunResult result = Kiln({"deploy", "hello", "--json", "--name", "greeter"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json json = Json(result.out);
  EXPECT_EQ(json["name"], "greeter");
  EXPECT_EQ(json["tenant"], "default");
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["url"], "http://greeter.default.localhost:8080/");
  EXPECT_EQ(json["build_ms"], 12);
  EXPECT_EQ(json["files"], 1);
  EXPECT_TRUE(json["elapsed_ms"].is_number());
  EXPECT_EQ(json["bundle_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, DeployASingleFile) {
  WriteFile(dir_ + "/api.mjs", kHello);
  RunResult result = Kiln({"deploy", "api.mjs"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Deployed api version 1"));
}

TEST_F(CliTest, DeployBuildErrorShowsFileLineColumnAndCaret) {
  WriteFile(dir_ + "/hello/index.js",
            "export default {\n"
            "  async fetch(request) {\n"
            "\treturn new Response('hi' }\n"
            "};\n");
  service_.SetBuildError("build failed: index.js:3:26: SyntaxError: missing ) after argument list");
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "kiln: deploy of \"hello\" failed: its code did not build\n"
            "hello/index.js:3:26: SyntaxError: missing ) after argument list\n"
            "  3 | \treturn new Response('hi' }\n"
            "    | \t                        ^\n"
            "Nothing changed on the server. Fix the code and deploy again.\n");

  result = Kiln({"--json", "deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  nlohmann::json error = Json(result.out)["error"];
  EXPECT_EQ(error["code"], "BUILD_FAILED");
  EXPECT_EQ(error["file"], "index.js");
  EXPECT_EQ(error["local_path"], "hello/index.js");
  EXPECT_EQ(error["line"], 3);
  EXPECT_EQ(error["column"], 26);
  EXPECT_EQ(error["js_message"], "SyntaxError: missing ) after argument list");
  EXPECT_EQ(error["exit_code"], 1);
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, DeployBuildErrorInANestedModule) {
  WriteFile(dir_ + "/hello/lib/util.js", "export const x = 1;\nexport const y = !!!;\n");
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("hello/lib/util.js:2:18: SyntaxError: Unexpected token '!'\n"
                                    "  2 | export const y = !!!;\n"
                                    "    |                  ^\n"));
}

TEST_F(CliTest, DeployOtherServerRejectionsAreReported) {
  service_.SetBuildError("quota: too many functions");
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("kiln: deploy of \"hello\" failed: quota: too many functions"));
}

TEST_F(CliTest, DeployWithAnUnknownConfigKeyNamesItAndSendsNothing) {
  WriteFile(dir_ + "/hello/kiln.toml", "name = \"hello\"\n[limits]\ncpu = 10\n");
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("hello/kiln.toml:3:1: unknown key \"limits.cpu\" "
                                    "(did you mean \"limits.cpu_ms\"?)"));
  EXPECT_TRUE(service_.deploys().empty());

  result = Kiln({"deploy", "hello", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Json(result.out)["error"]["code"], "BAD_FUNCTION");
}

// A bundle big enough for a progress line: one module with a long string.
std::string BigModule(size_t bytes) {
  return absl::StrCat(
      "const pad = \"", std::string(bytes, 'x'),
      "\";\nexport default { fetch() { return new Response(String(pad.length)); } };\n");
}

TEST_F(CliTest, DeployOfABigBundleShowsUploadProgressOnATerminal) {
  WriteFile(dir_ + "/hello/index.js", BigModule(2 << 20));
  RunOptions terminal;
  terminal.stderr_tty = true;
  RunResult result = Kiln({"deploy", "hello"}, terminal);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Sent in chunks, the line redrawn in place, and erased before the result.
  EXPECT_GT(service_.last_upload_chunks(), 30);
  EXPECT_THAT(result.err, HasSubstr("\r\033[KUploading hello: "));
  EXPECT_THAT(result.err, HasSubstr(" / 2.0 MiB ("));
  EXPECT_THAT(result.err, HasSubstr("\r\033[KUploaded 2.0 MiB; building hello..."));
  EXPECT_THAT(result.err, ::testing::EndsWith("\r\033[K"));
  EXPECT_THAT(result.out, HasSubstr("Deployed hello version 1"));
  ASSERT_EQ(service_.deploys().size(), 1u);
  EXPECT_GT(service_.deploys()[0].bundle().files(0).content().size(), 2u << 20);
}

TEST_F(CliTest, NoProgressWithoutATerminalForJsonOrForSmallBundles) {
  WriteFile(dir_ + "/hello/index.js", BigModule(2 << 20));
  RunResult result = Kiln({"deploy", "hello"});  // stderr is a pipe
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  RunOptions terminal;
  terminal.stderr_tty = true;
  result = Kiln({"deploy", "hello", "--json"}, terminal);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(Json(result.out)["version"], 2);
  WriteFile(dir_ + "/hello/index.js", kHello);
  result = Kiln({"deploy", "hello"}, terminal);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(service_.last_upload_chunks(), 1);
}

TEST_F(CliTest, DeployBindingAnUnsetSecretSaysHowToSetIt) {
  WriteFile(dir_ + "/hello/kiln.toml", "name = \"hello\"\nsecrets = [\"API_KEY\"]\n");
  RunResult result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "kiln: deploy of \"hello\" failed: secret \"API_KEY\" is not set in tenant "
            "\"default\"; set it before deploying or activating a version that binds it — "
            "nothing changed on the server; set it with `kiln secrets set API_KEY` (see `kiln "
            "secrets list`), or take it out of kiln.toml's secrets, then deploy again\n");
  result = Kiln({"deploy", "hello", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Json(result.out)["error"]["code"], "SECRET_NOT_SET");
  EXPECT_EQ(Json(result.out)["error"]["secret"], "API_KEY");
  EXPECT_EQ(Kiln({"list", "--json"}).out, "{\"functions\":[],\"tenant\":\"default\"}\n");

  ASSERT_EQ(Kiln({"secrets", "set", "API_KEY", "--value", "k"}).exit_code, 0);
  result = Kiln({"deploy", "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, DeployOfNothingIsAUsageError) {
  RunResult result = Kiln({"deploy", "missing-folder"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("nothing at missing-folder"));
}

TEST_F(CliTest, NoServerIsExit3WithTheHint) {
  const std::string address = absl::StrCat("127.0.0.1:", ClosedPort());
  RunOptions options;
  options.env["KILN_API"] = address;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"},
                                             {"deploy", "hello"},
                                             {"invoke", "hello"},
                                             {"logs", "hello"},
                                             {"versions", "hello"}}) {
    RunResult result = Kiln(args, options);
    EXPECT_EQ(result.exit_code, 3) << args[0] << ": " << result.err;
    EXPECT_EQ(result.err, absl::StrCat("kiln: cannot reach the Kiln API at ", address,
                                       " (from KILN_API) — is `kiln up` running? Set --api or "
                                       "KILN_API.\n"))
        << args[0];
  }
  RunResult result = Kiln({"list", "--json"}, options);
  EXPECT_EQ(result.exit_code, 3);
  nlohmann::json error = Json(result.out)["error"];
  EXPECT_EQ(error["code"], "UNREACHABLE");
  EXPECT_EQ(error["exit_code"], 3);
  EXPECT_EQ(error["hint"], "is `kiln up` running? Set --api or KILN_API.");
}

// A TCP server that answers everything with an HTTP/1.1 response: what the
// HTTP gateway's port looks like to a gRPC client.
class Http1Server {
 public:
  Http1Server() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(fd_, 16);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buffer[1024];
        (void)read(client, buffer, sizeof buffer);
        constexpr char kAnswer[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        (void)write(client, kAnswer, sizeof kAnswer - 1);
        close(client);
      }
    });
  }
  ~Http1Server() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(CliTest, AnHttpPortIsNotTakenForTheApi) {
  Http1Server http;
  RunOptions options;
  options.env["KILN_API"] = absl::StrCat("127.0.0.1:", http.port());
  RunResult result = Kiln({"list"}, options);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("is not the Kiln API (it does not speak gRPC) — is that the "
                                    "HTTP port?"));
}

TEST_F(CliTest, WithNothingConfiguredTheDefaultAddressIsTried) {
  RunOptions options;
  options.cwd = dir_;  // no .kiln here, no KILN_API
  RunResult result = RunKiln({"list", "--data-dir", dir_ + "/empty"}, options);
  if (result.exit_code != 3) GTEST_SKIP() << "something answers on 127.0.0.1:7000 here";
  EXPECT_EQ(result.err,
            "kiln: cannot reach the Kiln API at 127.0.0.1:7000 — is `kiln up` running? Set --api "
            "or KILN_API.\n");
}

TEST_F(CliTest, AddressAndTokenComeFromTheDataDir) {
  WriteFile(dir_ + "/.kiln/api.addr", server_->address() + "\n");
  WriteFile(dir_ + "/.kiln/default.token", FakeToken("default") + "\n");
  RunOptions options;
  options.cwd = dir_;
  RunResult result = RunKiln({"deploy", "hello"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;

  // --data-dir / KILN_DATA_DIR point elsewhere.
  std::filesystem::rename(dir_ + "/.kiln", dir_ + "/state");
  result = RunKiln({"list", "--data-dir", "state"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("hello"));
  options.env["KILN_DATA_DIR"] = "state";
  result = RunKiln({"list"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, ABadTokenIsExit4NamingItsSource) {
  RunOptions options;
  options.env["KILN_TOKEN"] = FakeToken("default", 'f');
  RunResult result = Kiln({"list"}, options);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.err, absl::StrCat("kiln: the Kiln API at ", server_->address(),
                                     " refused the token (from KILN_TOKEN): invalid token — use "
                                     "the token `kiln up` wrote to .kiln/default.token, or set "
                                     "--token / KILN_TOKEN\n"));
  result = Kiln({"list", "--token", "kiln_default_nonsense"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_THAT(result.err, HasSubstr("refused the token (from --token)"));
  result = Kiln({"deploy", "hello", "--json"}, options);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(Json(result.out)["error"]["code"], "UNAUTHENTICATED");
}

TEST_F(CliTest, NoTokenAtAllIsExit4SayingWhereToGetOne) {
  RunOptions options;
  options.cwd = dir_;
  options.env["KILN_API"] = server_->address();
  RunResult result = RunKiln({"list"}, options);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_THAT(
      result.err,
      HasSubstr("kiln: no API token: none was given and .kiln/default.token does not exist"));
  EXPECT_THAT(result.err, HasSubstr("pass --token / set KILN_TOKEN"));
}

TEST_F(CliTest, AnotherTenantsTokenIsExit4) {
  RunOptions options;
  options.env["KILN_TOKEN"] = FakeToken("other");
  RunResult result = Kiln({"list"}, options);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_THAT(result.err, HasSubstr("kiln: the Kiln API at " + server_->address() +
                                    " refused the token (from KILN_TOKEN)"));
}

TEST_F(CliTest, UnknownFunctionIsExit1WithAHint) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"invoke", "nope"},
                                             {"versions", "nope"},
                                             {"rollback", "nope"},
                                             {"delete", "nope", "--yes"},
                                             {"logs", "nope"}}) {
    RunResult result = Kiln(args);
    EXPECT_EQ(result.exit_code, 1) << args[0];
    EXPECT_EQ(result.err,
              "kiln: unknown function \"nope\" in tenant \"default\" — see `kiln list` for what "
              "is deployed, or deploy it with `kiln deploy PATH`\n")
        << args[0];
  }
  RunResult result = Kiln({"invoke", "nope", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Json(result.out)["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(Json(result.out)["error"]["detail"], "function \"nope\" not found");
}

TEST_F(CliTest, InvokePrintsStatusHeadersAndBodyAndExits0For2xx) {
  DeployHello();
  WriteFile(dir_ + "/body.txt", "from a file");
  RunResult result = Kiln(
      {"invoke", "hello", "--path", "/items?x=1", "-H", "x-trace: abc", "--data", "@body.txt"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = absl::StrSplit(result.out, '\n');
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "HTTP 200 OK");
  EXPECT_EQ(lines[1], "content-type: application/json");
  EXPECT_EQ(lines[2], "");
  nlohmann::json echo = Json(lines[3]);
  EXPECT_EQ(echo["method"], "POST");  // --data without --method
  EXPECT_EQ(echo["url"], "http://hello.default.localhost:8080/items?x=1");
  EXPECT_EQ(echo["headers"]["x-trace"], "abc");
  EXPECT_EQ(echo["body"], "from a file");
  EXPECT_EQ(result.err, "(version 1, cold, cpu 0.4 ms, wall 1.5 ms, request req-1)\n");

  result = Kiln({"invoke", "hello", "-X", "put", "-d", "inline", "--data", "last wins"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"method\":\"PUT\""));
  RunOptions piped;
  piped.stdin_data = "from stdin";
  result = Kiln({"invoke", "hello", "--data", "@-"}, piped);
  EXPECT_THAT(result.out, HasSubstr("\"body\":\"from stdin\""));
}

TEST_F(CliTest, InvokeExitsNonZeroForOtherStatuses) {
  DeployHello();
  RunResult result = Kiln({"invoke", "hello", "--path", "/status/404"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "HTTP 404 Not Found\ncontent-type: text/plain\n\nstatus 404\n");
  result = Kiln({"invoke", "hello", "--path", "/status/302"});
  EXPECT_EQ(result.exit_code, 1);
  result = Kiln({"invoke", "hello", "--path", "/status/204"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("HTTP 204 No Content"));

  result = Kiln({"invoke", "hello", "--path", "/status/503", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  nlohmann::json json = Json(result.out);
  EXPECT_EQ(json["status"], 503);
  EXPECT_EQ(json["body"], "status 503\n");
  EXPECT_EQ(json["headers"][0]["name"], "content-type");
  EXPECT_EQ(json["request_id"], "req-4");
  EXPECT_EQ(json["cold"], false);
}

TEST_F(CliTest, InvokeLimitAndExceptionFailuresAreClear) {
  DeployHello();
  RunResult result = Kiln({"invoke", "hello", "--path", "/cpu"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err,
              HasSubstr("kiln: hello exceeded its CPU time limit (cpu limit exceeded) — "
                        "raise [limits] cpu_ms in kiln.toml"));
  EXPECT_THAT(result.err, HasSubstr("request req-1"));

  result = Kiln({"invoke", "hello", "--path", "/throw"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("kiln: hello threw an exception:\n"
                                    "Error: boom\n"
                                    "    at Object.fetch (index.js:3:11)\n"
                                    "see `kiln logs hello` for its console output\n"));

  result = Kiln({"invoke", "hello", "--path", "/cpu", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  nlohmann::json json = Json(result.out);
  EXPECT_EQ(json["error"]["code"], "CPU_LIMIT");
  EXPECT_EQ(json["request_id"], "req-3");
}

TEST_F(CliTest, LogsPrintTimeLevelRequestIdColdWarmAndMessage) {
  DeployHello();
  ASSERT_EQ(Kiln({"invoke", "hello", "--path", "/a"}).exit_code, 0);
  ASSERT_EQ(Kiln({"invoke", "hello", "--path", "/b"}).exit_code, 0);
  kiln::v1::LogEntry multi;
  multi.set_timestamp_ms(1700000003000);
  multi.set_level(kiln::v1::LogEntry::ERROR);
  multi.set_message("Uncaught Error: x\n    at f (index.js:1:1)");
  multi.set_request_id("req-9");
  multi.set_tenant("default");
  multi.set_function("hello");
  multi.set_version(1);
  service_.AddLog(multi);

  RunResult result = Kiln({"logs", "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "2023-11-14 22:13:21.000  LOG    req-1  cold  GET /a\n"
            "2023-11-14 22:13:22.000  LOG    req-2  warm  GET /b\n"
            "2023-11-14 22:13:23.000  ERROR  req-9  warm  Uncaught Error: x\n"
            "                                                 at f (index.js:1:1)\n");

  result = Kiln({"logs", "hello", "--backlog", "1", "--json"});
  EXPECT_EQ(result.exit_code, 0);
  nlohmann::json json = Json(result.out);
  EXPECT_EQ(json["level"], "ERROR");
  EXPECT_EQ(json["request_id"], "req-9");
  EXPECT_EQ(json["function"], "hello");
  EXPECT_EQ(json["timestamp_ms"], 1700000003000);

  // Without NAME: every function, each line naming it.
  result = Kiln({"logs", "-n", "1"});
  EXPECT_THAT(result.out, HasSubstr("ERROR  hello@1  req-9  warm  Uncaught Error: x"));
}

TEST_F(CliTest, LogsFollowPrintsNewEntriesUntilCtrlC) {
  DeployHello();
  RunOptions options;
  options.cwd = dir_;
  options.env["KILN_API"] = server_->address();
  options.env["KILN_TOKEN"] = FakeToken("default");
  std::unique_ptr<KilnProcess> follow = KilnProcess::Start({"logs", "hello", "--follow"}, options);
  ASSERT_NE(follow, nullptr);
  // Invocations after the follow started show up.
  for (int i = 0; i < 50 && !follow->WaitFor("GET /later", absl::Milliseconds(100)); ++i) {
    ASSERT_EQ(Kiln({"invoke", "hello", "--path", "/later"}).exit_code, 0);
  }
  EXPECT_TRUE(follow->WaitFor("  GET /later\n", absl::Seconds(5))) << follow->out();
  follow->Signal(SIGINT);
  RunResult result = follow->Finish(absl::Seconds(10));
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, ListVersionsRollbackAndDelete) {
  DeployHello();
  DeployHello();
  RunResult result = Kiln({"list"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out,
            "NAME   VERSION  DEPLOYED             URL\n"
            "hello  2        2023-11-14 22:15:20  http://hello.default.localhost:8080/\n");
  result = Kiln({"list", "--json"});
  nlohmann::json list = Json(result.out);
  EXPECT_EQ(list["functions"][0]["name"], "hello");
  EXPECT_EQ(list["functions"][0]["active_version"], 2);

  result = Kiln({"versions", "hello"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out,
            "   VERSION  CREATED              BUNDLE\n"
            "*  2        2023-11-14 22:15:20  222222222222\n"
            "   1        2023-11-14 22:14:20  111111111111\n");
  result = Kiln({"versions", "hello", "--json"});
  nlohmann::json versions = Json(result.out);
  EXPECT_EQ(versions["active_version"], 2);
  EXPECT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(versions["versions"][0]["active"], true);

  result = Kiln({"rollback", "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(
      result.out,
      "Rolled hello back: version 1 is active (was 2)\n  http://hello.default.localhost:8080/\n");
  result = Kiln({"rollback", "hello"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot roll hello back: \"hello\" has no version before 1 — "
                                    "see `kiln versions hello`"));
  result = Kiln({"rollback", "hello", "--to", "2", "--json"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(Json(result.out)["active_version"], 2);
  EXPECT_EQ(Json(result.out)["previous_version"], 1);
  result = Kiln({"rollback", "hello", "--to", "7"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("has no version 7"));

  // stdin is a pipe, not a terminal: no question asked.
  result = Kiln({"delete", "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Deleted hello.\n");
  result = Kiln({"list"});
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("No functions in tenant \"default\" yet"));
}

TEST_F(CliTest, DeleteAsksOnATerminal) {
  DeployHello();
  RunOptions tty;
  tty.stdin_tty = true;
  tty.stdin_data = "n\n";
  RunResult result = Kiln({"delete", "hello"}, tty);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err,
              HasSubstr("Delete hello and all its versions? This cannot be undone. [y/N] "));
  EXPECT_THAT(result.err,
              HasSubstr("kiln: hello was not deleted — answer y to delete, or pass --yes"));
  EXPECT_EQ(Kiln({"versions", "hello"}).exit_code, 0);  // still there

  tty.stdin_data = "y\n";
  result = Kiln({"delete", "hello"}, tty);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Deleted hello.\n");

  DeployHello();
  tty.stdin_data = "";
  result = Kiln({"delete", "hello", "--yes"}, tty);  // --yes: no question
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.err, Not(HasSubstr("[y/N]")));
}

TEST_F(CliTest, UsageErrorsAreExit2) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "kiln: no command given"},
           {{"deplyo", "x"}, "kiln: unknown command \"deplyo\""},
           {{"deploy"}, "path is required"},
           {{"invoke", "hello", "--bogus"}, "--bogus"},
           {{"invoke", "hello", "-H", "no-colon"}, "--header \"no-colon\" is not NAME:VALUE"},
           {{"rollback", "hello", "--to", "x"}, "--to"},
           {{"list", "--api", "no-port"}, "no port"},
           {{"up", "--workers", "0"}, "--workers"},
           {{"secrets"},
            "kiln: no secrets command given — the secrets commands are set, list, "
            "delete; see `kiln secrets --help`"},
           {{"secrets", "set"}, "name is required"},
           {{"secrets", "sett", "X"}, "kiln: unknown command \"secrets sett\""},
       }) {
    RunResult result = Kiln(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.message << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr(c.message));
  }
  RunResult result = Kiln({"deplyo", "--json"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(Json(result.out)["error"]["code"], "USAGE");
}

TEST_F(CliTest, HelpListsCommandsAndExitCodes) {
  RunResult result = Kiln({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* part : {"up", "deploy", "invoke", "list", "versions", "rollback", "delete",
                           "logs", "secrets", "dev", "Exit codes:", "3  cannot reach the Kiln API",
                           "4  authentication failed", "KILN_API", "KILN_TOKEN"}) {
    EXPECT_THAT(result.out, HasSubstr(part));
  }
  for (const char* command : {"up", "deploy", "invoke", "list", "versions", "rollback", "delete",
                              "logs", "secrets", "dev"}) {
    result = Kiln({command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command;
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("Usage: kiln ", command))) << command;
  }
  for (const char* command : {"set", "list", "delete"}) {
    result = Kiln({"secrets", command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command;
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("kiln secrets ", command))) << command;
  }
}

}  // namespace
}  // namespace kiln::sdk::cli
