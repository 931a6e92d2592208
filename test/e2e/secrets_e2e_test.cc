// Secrets end to end: `kiln secrets set` (from a pipe and from --value), a
// function reading env.SECRET over HTTP, `kiln secrets list` showing names and
// users but never values, a changed value reaching the function at once (a new
// version), and the refusals: deleting a secret in use, deploying or rolling
// back to a version that uses an unset one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "test/e2e/kiln_platform.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kReader[] = R"(export default {
  fetch(request, env) {
    return new Response(`key=${env.API_KEY ?? "none"}`);
  },
};
)";

nlohmann::json Json(const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
  return value;
}

class SecretsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = E2eDir();
    platform_ = KilnPlatform::Start(dir_);
    ASSERT_NE(platform_, nullptr);
    WriteFileIn(dir_, "reader/kiln.toml", "name = \"reader\"\nsecrets = [\"API_KEY\"]\n");
    WriteFileIn(dir_, "reader/index.js", kReader);
  }

  RunResult Kiln(const std::vector<std::string>& args, RunOptions options = {}) {
    return platform_->Kiln(args, std::move(options));
  }

  std::string dir_;
  std::unique_ptr<KilnPlatform> platform_;
};

TEST_F(SecretsE2eTest, AFunctionReadsItsSecretAndSeesAChangeAtOnce) {
  RunResult set = Kiln({"secrets", "set", "API_KEY"}, {.stdin_data = "first-value\n"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "Created secret API_KEY in tenant \"default\".\n");
  RunResult deployed = Kiln({"deploy", "reader"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  EXPECT_EQ(platform_->Http("reader").body, "key=first-value");

  RunResult listed = Kiln({"secrets", "list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "NAME     USED BY\nAPI_KEY  reader\n");
  listed = Kiln({"secrets", "list", "--json"});
  EXPECT_EQ(Json(listed.out),
            nlohmann::json::parse(
                R"({"tenant":"default","secrets":[{"name":"API_KEY","bound_by":["reader"]}]})"));
  EXPECT_THAT(listed.out, Not(HasSubstr("first-value")));

  // The function is loaded on a worker with the old value; the change gives
  // it a new version, and the very next request sees the new value.
  set = Kiln({"secrets", "set", "API_KEY", "--value", "second-value"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out,
            "Updated secret API_KEY in tenant \"default\".\n"
            "New versions of the functions that use it (their requests see the new value now):\n"
            "  reader version 2\n");
  EXPECT_EQ(platform_->Http("reader").body, "key=second-value");
  RunResult invoked = Kiln({"invoke", "reader"});
  EXPECT_THAT(invoked.out, HasSubstr("\n\nkey=second-value"));
  EXPECT_THAT(invoked.err, StartsWith("(version 2, "));
  set = Kiln({"secrets", "set", "API_KEY", "--value", "second-value", "--json"});
  EXPECT_EQ(Json(set.out)["unchanged"], true);

  // In use: cannot be deleted.
  RunResult deleted = Kiln({"secrets", "delete", "API_KEY"});
  EXPECT_EQ(deleted.exit_code, 1);
  EXPECT_THAT(deleted.err, StartsWith("kiln: cannot delete secret API_KEY: secret \"API_KEY\" is "
                                      "bound by reader"));
  EXPECT_EQ(platform_->Http("reader").body, "key=second-value");

  // No longer used: deleted; the version that used it cannot come back.
  WriteFileIn(dir_, "reader/kiln.toml", "name = \"reader\"\n");
  ASSERT_EQ(Kiln({"deploy", "reader"}).exit_code, 0);
  EXPECT_EQ(platform_->Http("reader").body, "key=none");
  deleted = Kiln({"secrets", "delete", "API_KEY"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "Deleted secret API_KEY from tenant \"default\".\n");
  RunResult rolled = Kiln({"rollback", "reader"});
  EXPECT_EQ(rolled.exit_code, 1);
  EXPECT_THAT(rolled.err, HasSubstr("secret \"API_KEY\" is not set in tenant \"default\""));
  EXPECT_THAT(rolled.err, HasSubstr("set it with `kiln secrets set API_KEY`"));
  EXPECT_EQ(platform_->Http("reader").body, "key=none");
  listed = Kiln({"secrets", "list"});
  EXPECT_EQ(listed.out, "");
  EXPECT_THAT(listed.err, HasSubstr("No secrets in tenant \"default\" yet"));
  EXPECT_EQ(Kiln({"secrets", "delete", "API_KEY"}).exit_code, 1);
}

TEST_F(SecretsE2eTest, DeployingAFunctionThatUsesAnUnsetSecretChangesNothing) {
  RunResult deployed = Kiln({"deploy", "reader"});
  EXPECT_EQ(deployed.exit_code, 1);
  EXPECT_THAT(deployed.err,
              StartsWith("kiln: deploy of \"reader\" failed: secret \"API_KEY\" is not set in "
                         "tenant \"default\""));
  EXPECT_THAT(deployed.err, HasSubstr("set it with `kiln secrets set API_KEY`"));
  deployed = Kiln({"deploy", "reader", "--json"});
  EXPECT_EQ(Json(deployed.out)["error"]["code"], "SECRET_NOT_SET");
  EXPECT_EQ(Kiln({"versions", "reader"}).exit_code, 1);
  EXPECT_EQ(platform_->Http("reader").status, 404);
}

TEST_F(SecretsE2eTest, BadSecretsAreUsageErrors) {
  RunResult result = Kiln({"secrets", "set", "api-key", "--value", "v"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("secret name \"api-key\" must be letters, digits and '_'"));
  result = Kiln({"secrets", "set", "API_KEY"}, {.stdin_data = ""});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("secret \"API_KEY\" has an empty value"));
  result = Kiln({"secrets", "list", "--json"});
  EXPECT_EQ(Json(result.out)["secrets"].size(), 0u);
}

}  // namespace
}  // namespace kiln::test
