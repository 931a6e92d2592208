// Client-side deploy checks: the scheduler's rules (scheduler/store/validate.h),
// at their boundaries, with messages that say what to change.
#include "sdk/client/precheck.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace kiln::sdk {
namespace {

using ::testing::HasSubstr;

kiln::v1::Bundle OneFile(const std::string& path = "index.js", std::string content = "x") {
  kiln::v1::Bundle bundle;
  auto* file = bundle.add_files();
  file->set_path(path);
  file->set_content(std::move(content));
  bundle.set_main_module(path);
  return bundle;
}

TEST(PrecheckTest, FunctionNames) {
  for (const char* good : {"a", "hello", "my-api-2", "0x"}) {
    EXPECT_TRUE(CheckFunctionName(good).ok()) << good;
  }
  EXPECT_TRUE(CheckFunctionName(std::string(63, 'a')).ok());
  EXPECT_THAT(CheckFunctionName(std::string(64, 'a')).message(), HasSubstr("longer than 63"));
  EXPECT_THAT(CheckFunctionName("").message(), HasSubstr("empty"));
  EXPECT_THAT(CheckFunctionName("My_App").message(),
              HasSubstr("lowercase letters, digits and '-'; choose another (e.g. \"my-app\")"));
  EXPECT_THAT(CheckFunctionName("-api").message(), HasSubstr("must start and end"));
  EXPECT_THAT(CheckFunctionName("api-").message(), HasSubstr("must start and end"));
}

TEST(PrecheckTest, SuggestFunctionName) {
  EXPECT_EQ(SuggestFunctionName("My App!"), "my-app");
  EXPECT_EQ(SuggestFunctionName("__x__y__"), "x-y");
  EXPECT_EQ(SuggestFunctionName("!!!"), "");
  EXPECT_EQ(SuggestFunctionName(std::string(70, 'a')).size(), 63u);
}

TEST(PrecheckTest, BundlePaths) {
  EXPECT_TRUE(CheckBundlePath("lib/util.js").ok());
  EXPECT_TRUE(CheckBundlePath(std::string(1024, 'a')).ok());
  EXPECT_THAT(CheckBundlePath(std::string(1025, 'a')).message(), HasSubstr("longer than 1024"));
  EXPECT_THAT(CheckBundlePath("").message(), HasSubstr("empty path"));
  EXPECT_THAT(CheckBundlePath("/etc/passwd").message(), HasSubstr("absolute"));
  EXPECT_THAT(CheckBundlePath("../up.js").message(), HasSubstr("'..' segment"));
  EXPECT_THAT(CheckBundlePath("a/./b.js").message(), HasSubstr("'.' segment"));
  EXPECT_THAT(CheckBundlePath("a//b.js").message(), HasSubstr("empty segment"));
  EXPECT_THAT(CheckBundlePath("a/").message(), HasSubstr("empty segment"));
  EXPECT_THAT(CheckBundlePath("a\\b.js").message(), HasSubstr("backslash"));
  EXPECT_THAT(CheckBundlePath(std::string("a\0b", 3)).message(), HasSubstr("NUL"));
}

TEST(PrecheckTest, Bundles) {
  EXPECT_TRUE(CheckBundle(OneFile()).ok());
  EXPECT_THAT(CheckBundle(kiln::v1::Bundle()).message(), HasSubstr("no files"));

  kiln::v1::Bundle bundle = OneFile();
  bundle.set_main_module("");
  EXPECT_THAT(CheckBundle(bundle).message(), HasSubstr("names no main module"));
  bundle.set_main_module("other.js");
  EXPECT_THAT(CheckBundle(bundle).message(), HasSubstr("\"other.js\" is not a file in the bundle"));

  bundle = OneFile();
  *bundle.add_files() = bundle.files(0);
  EXPECT_THAT(CheckBundle(bundle).message(), HasSubstr("appears more than once"));

  bundle = OneFile("index.js", std::string(kMaxBundleBytes, 'x'));
  EXPECT_TRUE(CheckBundle(bundle).ok());
  bundle.add_files()->set_path("one-more-byte");
  bundle.mutable_files(1)->set_content("x");
  EXPECT_THAT(CheckBundle(bundle).message(), HasSubstr("the limit is 10 MiB"));

  bundle = OneFile();
  for (int i = 1; i < kMaxBundleFiles; ++i) bundle.add_files()->set_path(absl::StrCat("f", i));
  EXPECT_TRUE(CheckBundle(bundle).ok());
  bundle.add_files()->set_path("f1000");
  EXPECT_THAT(CheckBundle(bundle).message(), HasSubstr("1001 files; the limit is 1000"));
}

TEST(PrecheckTest, EnvNames) {
  for (const char* good : {"A", "_x", "API_KEY_2"}) EXPECT_TRUE(CheckEnvName(good).ok()) << good;
  for (const char* bad : {"", "2FA", "API-KEY", "A B"}) EXPECT_FALSE(CheckEnvName(bad).ok()) << bad;
  EXPECT_FALSE(CheckEnvName(std::string(64, 'A')).ok());
}

TEST(PrecheckTest, FunctionConfig) {
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["A"] = std::string(kMaxEnvValueBytes, 'x');
  EXPECT_TRUE(CheckFunctionConfig(config).ok());
  (*config.mutable_vars())["A"].push_back('x');
  EXPECT_THAT(CheckFunctionConfig(config).message(), HasSubstr("env var \"A\" is 5.0 KiB"));

  config.Clear();
  (*config.mutable_vars())["bad-name"] = "x";
  EXPECT_THAT(CheckFunctionConfig(config).message(), HasSubstr("\"bad-name\""));

  config.Clear();
  config.add_secret_names("S");
  config.add_secret_names("S");
  EXPECT_THAT(CheckFunctionConfig(config).message(), HasSubstr("listed more than once"));

  config.Clear();
  for (int i = 0; i < kMaxEnvBindings; ++i) (*config.mutable_vars())[absl::StrCat("V", i)] = "x";
  EXPECT_TRUE(CheckFunctionConfig(config).ok());
  config.add_secret_names("ONE_MORE");
  EXPECT_THAT(CheckFunctionConfig(config).message(), HasSubstr("65 env bindings"));

  config.Clear();
  config.mutable_limits()->set_cpu_ms(kMaxCpuMs + 1);
  EXPECT_THAT(CheckFunctionConfig(config).message(), HasSubstr("limits.cpu_ms"));
}

TEST(PrecheckTest, DeployRequestChecksNameBundleAndConfig) {
  kiln::v1::DeployRequest request;
  request.set_name("hello");
  *request.mutable_bundle() = OneFile();
  EXPECT_TRUE(CheckDeployRequest(request).ok());
  request.set_name("Hello");
  EXPECT_FALSE(CheckDeployRequest(request).ok());
  request.set_name("hello");
  request.mutable_bundle()->set_main_module("x.js");
  EXPECT_FALSE(CheckDeployRequest(request).ok());
}

TEST(PrecheckTest, Secrets) {
  EXPECT_TRUE(CheckSecret("API_KEY", "s3cr3t").ok());
  EXPECT_TRUE(CheckSecret("K", std::string(5 * 1024, 'k')).ok());
  EXPECT_TRUE(CheckSecret("K", "caf\xc3\xa9").ok());
  EXPECT_THAT(CheckSecret("api-key", "v").message(),
              HasSubstr("secret name \"api-key\" must be letters, digits and '_'"));
  EXPECT_THAT(CheckSecret("", "v").message(), HasSubstr("secret with an empty name"));
  EXPECT_THAT(CheckSecret("K", "").message(), HasSubstr("secret \"K\" has an empty value"));
  EXPECT_THAT(CheckSecret("K", std::string(5 * 1024 + 1, 'k')).message(),
              HasSubstr("secret \"K\" is 5121 bytes; the limit is 5120"));
  EXPECT_THAT(CheckSecret("K", "\xff").message(), HasSubstr("secret \"K\" is not UTF-8 text"));
  EXPECT_TRUE(CheckSecretName("TOKEN").ok());
  EXPECT_FALSE(CheckSecretName("9TOKEN").ok());
}

TEST(PrecheckTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(1), "1 byte");
  EXPECT_EQ(HumanBytes(1023), "1023 bytes");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(10 * 1024 * 1024), "10.0 MiB");
}

}  // namespace
}  // namespace kiln::sdk
