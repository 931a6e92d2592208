// Every way a user's command can fail against the real platform, with the
// exit code and message the user sees, and proof that nothing changed: no
// server (3), a refused token (4), a bad kiln.toml (1, file:line), code that
// does not build (1, file:line:col and a caret under the source line), an
// unknown function (1), a bad command line (2).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sdk/cli/testing/kiln_process.h"
#include "test/e2e/kiln_platform.h"

namespace kiln::test {
namespace {

using ::kiln::sdk::cli::testing::ClosedPort;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kV1[] = "export default { fetch() { return new Response(\"v1\"); } };\n";

nlohmann::json Json(const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
  return value;
}

class ErrorsTest : public ::testing::Test {
 protected:
  void Up() {
    platform_ = KilnPlatform::Start(dir_);
    ASSERT_NE(platform_, nullptr);
  }
  RunResult Kiln(const std::vector<std::string>& args, RunOptions options = {}) {
    return RunKilnIn(dir_, args, std::move(options));
  }
  // The function "fn" at version 1, answering "v1".
  void DeployV1() {
    WriteFileIn(dir_, "fn/kiln.toml", "name = \"fn\"\nmain = \"src/index.js\"\n");
    WriteFileIn(
        dir_, "fn/src/index.js",
        "import { v } from './lib.js';\n" + std::string("export default { fetch() { return new "
                                                        "Response(v); } };\n"));
    WriteFileIn(dir_, "fn/src/lib.js", "export const v = 'v1';\n");
    RunResult deployed = Kiln({"deploy", "fn"});
    ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  }
  // Nothing changed: fn still at version 1, answering v1 over HTTP.
  void ExpectUnchanged() {
    RunResult versions = Kiln({"versions", "fn", "--json"});
    EXPECT_EQ(versions.exit_code, 0) << versions.err;
    EXPECT_EQ(Json(versions.out)["versions"].size(), 1u);
    EXPECT_EQ(platform_->Http("fn").body, "v1");
  }

  std::string dir_ = E2eDir();
  std::unique_ptr<KilnPlatform> platform_;
};

TEST_F(ErrorsTest, NoServerIsExit3) {
  const std::string nowhere = absl::StrCat("127.0.0.1:", ClosedPort());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"list"}, {"invoke", "fn"}, {"logs", "fn"}, {"secrets", "list"}}) {
    std::vector<std::string> with_api = args;
    with_api.insert(with_api.end(), {"--api", nowhere});
    RunResult result = Kiln(with_api);
    EXPECT_EQ(result.exit_code, 3) << args[0] << ": " << result.err;
    EXPECT_EQ(result.err, absl::StrCat("kiln: cannot reach the Kiln API at ", nowhere,
                                       " (from --api) — is `kiln up` running? Set --api or "
                                       "KILN_API.\n"));
  }
  RunResult json = Kiln({"list", "--api", nowhere, "--json"});
  EXPECT_EQ(json.exit_code, 3);
  EXPECT_EQ(Json(json.out)["error"]["code"], "UNREACHABLE");

  // After the platform stopped, the address it left in .kiln/api.addr leads
  // nowhere: the same answer, naming where the address came from.
  Up();
  WriteFileIn(dir_, "fn.js", kV1);
  ASSERT_EQ(Kiln({"deploy", "fn.js"}).exit_code, 0);
  const std::string api = platform_->api();
  EXPECT_EQ(platform_->Stop(SIGINT).exit_code, 0);
  RunResult deploy = Kiln({"deploy", "fn.js"});
  EXPECT_EQ(deploy.exit_code, 3);
  EXPECT_EQ(deploy.err, absl::StrCat("kiln: cannot reach the Kiln API at ", api,
                                     " (from .kiln/api.addr) — is `kiln up` running? Set --api or "
                                     "KILN_API.\n"));
}

TEST_F(ErrorsTest, ARefusedTokenIsExit4AndChangesNothing) {
  Up();
  DeployV1();
  const std::string wrong = "kiln_default_" + std::string(64, '0');
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"},
                                             {"deploy", "fn"},
                                             {"invoke", "fn"},
                                             {"delete", "fn"},
                                             {"rollback", "fn"},
                                             {"secrets", "set", "K", "--value", "v"}}) {
    RunResult result = Kiln(args, {.env = {{"KILN_TOKEN", wrong}}});
    EXPECT_EQ(result.exit_code, 4) << args[0] << ": " << result.err;
    EXPECT_THAT(result.err, StartsWith(absl::StrCat("kiln: the Kiln API at ", platform_->api(),
                                                    " refused the token (from KILN_TOKEN): ")))
        << args[0];
    EXPECT_THAT(result.err, EndsWith("use the token `kiln up` wrote to .kiln/default.token, or "
                                     "set --token / KILN_TOKEN\n"));
  }
  RunResult malformed = Kiln({"list", "--token", "not-a-token", "--json"});
  EXPECT_EQ(malformed.exit_code, 4);
  EXPECT_EQ(Json(malformed.out)["error"]["code"], "UNAUTHENTICATED");
  // Another tenant's token shape, the default tenant's hex: refused as well.
  const std::string token = FirstLineOf(dir_ + "/.kiln/default.token");
  RunResult other =
      Kiln({"list", "--token", "kiln_acme_" + token.substr(std::string("kiln_default_").size())});
  EXPECT_EQ(other.exit_code, 4) << other.err;
  ExpectUnchanged();
  RunResult secrets = Kiln({"secrets", "list", "--json"});
  EXPECT_EQ(Json(secrets.out)["secrets"].size(), 0u);
}

TEST_F(ErrorsTest, ABadKilnTomlIsExit1WithFileAndLineAndChangesNothing) {
  Up();
  DeployV1();
  WriteFileIn(dir_, "fn/src/lib.js", "export const v = 'v2';\n");
  WriteFileIn(dir_, "fn/kiln.toml", "name = \"fn\"\nmain = \"src/index.js\"\n[limits]\ncpu = 10\n");
  RunResult result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("fn/kiln.toml:4:1: unknown key \"limits.cpu\" (did you mean "
                                    "\"limits.cpu_ms\"?)"));
  // Not TOML at all.
  WriteFileIn(dir_, "fn/kiln.toml", "name = \"fn\"\nmain = \"src/index.js\n");
  result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("fn/kiln.toml:2:"));
  // A value of the wrong type.
  WriteFileIn(dir_, "fn/kiln.toml", "name = \"fn\"\nmain = \"src/index.js\"\nroutes = \"x\"\n");
  result = Kiln({"deploy", "fn", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  nlohmann::json error = Json(result.out)["error"];
  EXPECT_EQ(error["code"], "BAD_FUNCTION");
  EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("fn/kiln.toml:3:"));
  ExpectUnchanged();
}

TEST_F(ErrorsTest, ASyntaxErrorIsExit1WithFileLineColumnAndACaretAndChangesNothing) {
  Up();
  DeployV1();
  WriteFileIn(dir_, "fn/src/lib.js", "export const v = 'v2';\nexport const w = (1 + ;\n");
  RunResult result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "kiln: deploy of \"fn\" failed: its code did not build\n"
            "fn/src/lib.js:2:23: SyntaxError: Unexpected token ';'\n"
            "  2 | export const w = (1 + ;\n"
            "    |                       ^\n"
            "Nothing changed on the server. Fix the code and deploy again.\n");
  result = Kiln({"deploy", "fn", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  nlohmann::json error = Json(result.out)["error"];
  EXPECT_EQ(error["code"], "BUILD_FAILED");
  EXPECT_EQ(error["file"], "src/lib.js");
  EXPECT_EQ(error["local_path"], "fn/src/lib.js");
  EXPECT_EQ(error["line"], 2);
  EXPECT_EQ(error["column"], 23);
  ExpectUnchanged();

  // A throw while the module's top level runs is a build error too.
  WriteFileIn(dir_, "fn/src/lib.js",
              "export const v = 'v2';\nif (v) throw new Error('no config at top level');\n");
  result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("fn/src/lib.js:2:"));
  EXPECT_THAT(result.err, HasSubstr("Error: no config at top level"));
  EXPECT_THAT(result.err, HasSubstr("  2 | if (v) throw new Error('no config at top level');\n"));
  ExpectUnchanged();
}

TEST_F(ErrorsTest, ABundleTooBigIsExit1AndChangesNothing) {
  Up();
  DeployV1();
  // Over the 10 MiB bundle limit: refused before anything is sent.
  WriteFileIn(dir_, "fn/src/data.txt", std::string((10 << 20) + 1, 'x'));
  RunResult result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("10 MiB"));
  ExpectUnchanged();
  // Under it, and larger than gRPC's default 4 MiB message: deploys (the
  // worker's stream takes frames up to 256 MiB).
  WriteFileIn(dir_, "fn/src/data.txt", std::string(5 << 20, 'x'));
  result = Kiln({"deploy", "fn"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(ErrorsTest, AnUnknownFunctionIsExit1) {
  Up();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"invoke", "nope"},
                                             {"versions", "nope"},
                                             {"rollback", "nope"},
                                             {"delete", "nope", "--yes"},
                                             {"logs", "nope"}}) {
    RunResult result = Kiln(args);
    EXPECT_EQ(result.exit_code, 1) << args[0];
    EXPECT_EQ(result.err,
              "kiln: unknown function \"nope\" in tenant \"default\" — see `kiln list` for what is "
              "deployed, or deploy it with `kiln deploy PATH`\n")
        << args[0];
  }
  RunResult json = Kiln({"invoke", "nope", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(Json(json.out)["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(platform_->Http("nope").status, 404);
}

TEST_F(ErrorsTest, ABadCommandLineIsExit2) {
  Up();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"deploy", "no-such-folder"}, {"deplyo"}, {"invoke"}, {"list", "--api", "no-port"}}) {
    RunResult result = Kiln(args);
    EXPECT_EQ(result.exit_code, 2) << args[0] << ": " << result.err;
    EXPECT_THAT(result.err, StartsWith("kiln: ")) << args[0];
  }
}

}  // namespace
}  // namespace kiln::test
