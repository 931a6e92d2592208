// `kiln secrets set|list|delete` against an in-process fake kiln.v1.Control:
// where the value comes from (--value, a pipe, a hidden terminal prompt), what
// each outcome prints (human and --json), that values are never printed, and
// the exit code of every refusal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sdk/cli/testing/kiln_process.h"
#include "sdk/testing/fake_control.h"

namespace kiln::sdk::cli {
namespace {

using ::kiln::sdk::cli::testing::ClosedPort;
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

constexpr char kEcho[] =
    "export default { fetch(request, env) { return new Response(env.API_KEY); } };\n";

class SecretsCliTest : public ::testing::Test {
 protected:
  SecretsCliTest() : service_(FakeToken("default")) {}

  void SetUp() override {
    server_ = FakeControlServer::Start(&service_);
    ASSERT_NE(server_, nullptr);
    dir_ = TestDir();
    WriteFile(dir_ + "/echo/kiln.toml", "name = \"echo\"\nsecrets = [\"API_KEY\"]\n");
    WriteFile(dir_ + "/echo/index.js", kEcho);
  }

  RunResult Kiln(std::vector<std::string> args, RunOptions options = {}) {
    if (options.cwd.empty()) options.cwd = dir_;
    options.env.emplace("KILN_API", server_->address());
    options.env.emplace("KILN_TOKEN", FakeToken("default"));
    return RunKiln(args, options);
  }

  static RunOptions Stdin(std::string data) {
    RunOptions options;
    options.stdin_data = std::move(data);
    return options;
  }

  static nlohmann::json Json(const std::string& text) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
    return value;
  }

  std::optional<std::string> Secret(const std::string& name) {
    return service_.secret("default", name);
  }

  FakeControl service_;
  std::unique_ptr<FakeControlServer> server_;
  std::string dir_;
};

TEST_F(SecretsCliTest, SetFromAPipeDropsOneTrailingNewline) {
  RunResult result = Kiln({"secrets", "set", "API_KEY"}, Stdin("s3cr3t\n"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Created secret API_KEY in tenant \"default\".\n");
  EXPECT_EQ(result.err,
            "Functions read it as env.API_KEY once their kiln.toml has secrets = "
            "[\"API_KEY\"].\n");
  EXPECT_EQ(Secret("API_KEY"), "s3cr3t");

  // Only one newline goes, and \r\n counts as one.
  ASSERT_EQ(Kiln({"secrets", "set", "TWO"}, Stdin("a\n\n")).exit_code, 0);
  EXPECT_EQ(Secret("TWO"), "a\n");
  ASSERT_EQ(Kiln({"secrets", "set", "CRLF"}, Stdin("b\r\n")).exit_code, 0);
  EXPECT_EQ(Secret("CRLF"), "b");
  ASSERT_EQ(Kiln({"secrets", "set", "RAW"}, Stdin("no newline")).exit_code, 0);
  EXPECT_EQ(Secret("RAW"), "no newline");
}

TEST_F(SecretsCliTest, SetWithValueIsVerbatimAndReportsUpdatesAndNoChange) {
  RunResult result = Kiln({"secrets", "set", "API_KEY", "--value", " spaced \n"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Secret("API_KEY"), " spaced \n");
  result = Kiln({"secrets", "set", "API_KEY", "--value", "other"});
  EXPECT_EQ(result.out, "Updated secret API_KEY in tenant \"default\".\n");
  result = Kiln({"secrets", "set", "API_KEY", "--value", "other"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out,
            "Secret API_KEY in tenant \"default\" already has this value; nothing changed.\n");
  result = Kiln({"secrets", "set", "API_KEY", "--value", "other", "--json"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.err, "");
  nlohmann::json json = Json(result.out);
  EXPECT_EQ(json["name"], "API_KEY");
  EXPECT_EQ(json["tenant"], "default");
  EXPECT_EQ(json["created"], false);
  EXPECT_EQ(json["unchanged"], true);
  EXPECT_EQ(json["redeployed"], nlohmann::json::array());
}

TEST_F(SecretsCliTest, ChangingASecretNamesTheFunctionsGivenANewVersion) {
  ASSERT_EQ(Kiln({"secrets", "set", "API_KEY", "--value", "one"}).exit_code, 0);
  RunResult deployed = Kiln({"deploy", "echo"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  RunResult result = Kiln({"secrets", "set", "API_KEY", "--value", "two"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "Updated secret API_KEY in tenant \"default\".\n"
            "New versions of the functions that use it (their requests see the new value now):\n"
            "  echo version 2\n");
  result = Kiln({"secrets", "set", "API_KEY", "--value", "three", "--json"});
  nlohmann::json json = Json(result.out);
  ASSERT_EQ(json["redeployed"].size(), 1u);
  EXPECT_EQ(json["redeployed"][0]["name"], "echo");
  EXPECT_EQ(json["redeployed"][0]["version"], 3);
  EXPECT_EQ(json["redeployed"][0]["url"], "http://echo.default.localhost:8080/");
}

TEST_F(SecretsCliTest, SetOnATerminalPromptsAndNeverPrintsTheValue) {
  RunOptions tty;
  tty.stdin_tty = true;
  tty.stdin_data = "typed-value\n";
  RunResult result = Kiln({"secrets", "set", "API_KEY"}, tty);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("Value of secret API_KEY (typing is hidden; Enter ends it): "));
  EXPECT_EQ(Secret("API_KEY"), "typed-value");
  EXPECT_THAT(result.out + result.err, Not(HasSubstr("typed-value")));
}

TEST_F(SecretsCliTest, ListShowsNamesAndUsersNeverValues) {
  RunResult result = Kiln({"secrets", "list"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "No secrets in tenant \"default\" yet — add one with `kiln secrets set NAME`.\n");

  ASSERT_EQ(Kiln({"secrets", "set", "API_KEY", "--value", "value-one"}).exit_code, 0);
  ASSERT_EQ(Kiln({"secrets", "set", "DATABASE_URL", "--value", "value-two"}).exit_code, 0);
  ASSERT_EQ(Kiln({"deploy", "echo"}).exit_code, 0);
  result = Kiln({"secrets", "list"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out,
            "NAME          USED BY\n"
            "API_KEY       echo\n"
            "DATABASE_URL  -\n");
  result = Kiln({"secrets", "list", "--json"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(Json(result.out), nlohmann::json::parse(R"({"tenant": "default", "secrets": [
                {"name": "API_KEY", "bound_by": ["echo"]},
                {"name": "DATABASE_URL", "bound_by": []}]})"));
  EXPECT_THAT(result.out, Not(HasSubstr("value-")));
}

TEST_F(SecretsCliTest, DeleteRefusesWhileUsedAndThenDeletes) {
  ASSERT_EQ(Kiln({"secrets", "set", "API_KEY", "--value", "v"}).exit_code, 0);
  ASSERT_EQ(Kiln({"deploy", "echo"}).exit_code, 0);
  RunResult result = Kiln({"secrets", "delete", "API_KEY"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "kiln: cannot delete secret API_KEY: secret \"API_KEY\" is bound by echo; remove it "
            "from their secrets and deploy them first — nothing changed; take it out of those "
            "functions' kiln.toml secrets, deploy them, then delete it\n");
  EXPECT_EQ(Secret("API_KEY"), "v");

  WriteFile(dir_ + "/echo/kiln.toml", "name = \"echo\"\n");
  ASSERT_EQ(Kiln({"deploy", "echo"}).exit_code, 0);
  result = Kiln({"secrets", "delete", "API_KEY"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Deleted secret API_KEY from tenant \"default\".\n");
  EXPECT_EQ(Secret("API_KEY"), std::nullopt);

  result = Kiln({"secrets", "delete", "API_KEY"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "kiln: unknown secret \"API_KEY\" in tenant \"default\" — see `kiln secrets list` for "
            "the secrets there are\n");
  result = Kiln({"secrets", "delete", "API_KEY", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(Json(result.out)["error"]["code"], "NOT_FOUND");
  ASSERT_EQ(Kiln({"secrets", "set", "OTHER", "--value", "v"}).exit_code, 0);
  result = Kiln({"secrets", "delete", "OTHER", "--json"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(Json(result.out), nlohmann::json::parse(R"({"deleted":"OTHER","tenant":"default"})"));
}

TEST_F(SecretsCliTest, DeleteAsksOnATerminal) {
  ASSERT_EQ(Kiln({"secrets", "set", "API_KEY", "--value", "v"}).exit_code, 0);
  RunOptions tty;
  tty.stdin_tty = true;
  tty.stdin_data = "n\n";
  RunResult result = Kiln({"secrets", "delete", "API_KEY"}, tty);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Delete secret API_KEY? Functions cannot bind it afterwards."));
  EXPECT_THAT(result.err, HasSubstr("kiln: secret API_KEY was not deleted"));
  EXPECT_EQ(Secret("API_KEY"), "v");
  tty.stdin_data = "y\n";
  result = Kiln({"secrets", "delete", "API_KEY"}, tty);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Secret("API_KEY"), std::nullopt);
}

TEST_F(SecretsCliTest, BadNamesAndValuesAreUsageErrorsAndSendNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string stdin_data;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"secrets", "set", "api-key", "--value", "v"},
            "",
            "kiln: secret name \"api-key\" must be letters, digits and '_', not starting with a "
            "digit — a secret becomes env.NAME: use letters, digits and '_', e.g. API_KEY\n"},
           {{"secrets", "set", "API_KEY"},
            "\n",
            "kiln: secret \"API_KEY\" has an empty value — pipe the value in (printf %s "
            "\"$VALUE\" | kiln secrets set API_KEY), type it at the prompt, or pass --value\n"},
           {{"secrets", "set", "API_KEY", "--value", ""}, "", "has an empty value"},
           {{"secrets", "set", "API_KEY"}, "\xff\xfe", "secret \"API_KEY\" is not UTF-8 text"},
           {{"secrets", "set", "API_KEY"},
            std::string(5 * 1024 + 2, 'x'),
            "the value on stdin is longer than 5120 bytes (5 KiB), the limit"},
           {{"secrets", "set", "API_KEY", "--value", std::string(5 * 1024 + 1, 'x')},
            "",
            "secret \"API_KEY\" is 5121 bytes; the limit is 5120"},
           {{"secrets", "delete", "9lives"}, "", "secret name \"9lives\""},
       }) {
    RunResult result = Kiln(c.args, Stdin(c.stdin_data));
    EXPECT_EQ(result.exit_code, 2) << c.message;
    EXPECT_THAT(result.err, HasSubstr(c.message));
  }
  EXPECT_EQ(Secret("API_KEY"), std::nullopt);
  RunResult result = Kiln({"secrets", "set", "api-key", "--value", "v", "--json"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(Json(result.out)["error"]["code"], "USAGE");
}

TEST_F(SecretsCliTest, NoServerIsExit3AndABadTokenExit4) {
  RunOptions unreachable = Stdin("v");
  unreachable.env["KILN_API"] = absl::StrCat("127.0.0.1:", ClosedPort());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"secrets", "set", "K"}, {"secrets", "list"}, {"secrets", "delete", "K"}}) {
    RunResult result = Kiln(args, unreachable);
    EXPECT_EQ(result.exit_code, 3) << args[1] << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr("kiln: cannot reach the Kiln API at")) << args[1];
  }
  RunOptions stranger = Stdin("v");
  stranger.env["KILN_TOKEN"] = FakeToken("default", 'c');
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"secrets", "set", "K"}, {"secrets", "list"}, {"secrets", "delete", "K"}}) {
    RunResult result = Kiln(args, stranger);
    EXPECT_EQ(result.exit_code, 4) << args[1] << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr("refused the token (from KILN_TOKEN)")) << args[1];
  }
  EXPECT_EQ(Secret("K"), std::nullopt);
}

}  // namespace
}  // namespace kiln::sdk::cli
