// Every deploy-time input rule of validate.h: what passes, what fails, and that
// the message names the offending item.
#include "scheduler/store/validate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

using ::testing::HasSubstr;

MATCHER_P(InvalidWith, text, "") {
  return arg.code() == absl::StatusCode::kInvalidArgument &&
         std::string(arg.message()).find(text) != std::string::npos;
}

kiln::v1::Bundle Bundle(std::initializer_list<std::string> paths, std::string main = "index.js") {
  kiln::v1::Bundle bundle;
  for (const std::string& path : paths) {
    kiln::v1::BundleFile* file = bundle.add_files();
    file->set_path(path);
    file->set_content("export default {};");
  }
  bundle.set_main_module(main);
  return bundle;
}

TEST(ValidateNameTest, AcceptsDnsLabels) {
  for (const char* name : {"a", "0", "hello", "my-func-2", "a1-b2-c3"}) {
    EXPECT_TRUE(ValidateFunctionName(name).ok()) << name;
    EXPECT_TRUE(ValidateTenantName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateFunctionName(std::string(63, 'x')).ok());
}

TEST(ValidateNameTest, RejectsEmpty) {
  EXPECT_THAT(ValidateFunctionName(""), InvalidWith("function name is empty"));
  EXPECT_THAT(ValidateTenantName(""), InvalidWith("tenant name is empty"));
}

TEST(ValidateNameTest, RejectsLongerThan63) {
  EXPECT_THAT(ValidateFunctionName(std::string(64, 'x')), InvalidWith("longer than 63"));
  EXPECT_THAT(ValidateTenantName(std::string(64, 'x')), InvalidWith("longer than 63"));
}

TEST(ValidateNameTest, RejectsCharactersOutsideLowercaseDigitsHyphen) {
  for (const char* name : {"Hello", "a_b", "a.b", "a b", "a/b", "é"}) {
    EXPECT_THAT(ValidateFunctionName(name), InvalidWith("may hold only")) << name;
    EXPECT_THAT(ValidateTenantName(name), InvalidWith("tenant name")) << name;
  }
  EXPECT_THAT(ValidateFunctionName(std::string("a\0b", 3)), InvalidWith("a\\000b"));
}

TEST(ValidateNameTest, RejectsLeadingOrTrailingHyphen) {
  EXPECT_THAT(ValidateFunctionName("-a"), InvalidWith("\"-a\" must start and end"));
  EXPECT_THAT(ValidateFunctionName("a-"), InvalidWith("\"a-\" must start and end"));
  EXPECT_THAT(ValidateTenantName("-"), InvalidWith("must start and end"));
}

TEST(ValidatePathTest, AcceptsRelativePaths) {
  for (const char* path : {"index.js", "lib/util.mjs", "data/table.json", "a/b/c/d.txt", "..hidden",
                           "a/...", ".env"}) {
    EXPECT_TRUE(ValidateBundlePath(path).ok()) << path;
  }
}

TEST(ValidatePathTest, RejectsEmpty) {
  EXPECT_THAT(ValidateBundlePath(""), InvalidWith("empty path"));
}

TEST(ValidatePathTest, RejectsDotDotSegments) {
  for (const char* path : {"..", "../x.js", "a/../b.js", "a/.."}) {
    EXPECT_THAT(ValidateBundlePath(path), InvalidWith("'..' segment")) << path;
  }
  EXPECT_THAT(ValidateBundlePath("a/../b.js"), InvalidWith("\"a/../b.js\""));
}

TEST(ValidatePathTest, RejectsDotSegments) {
  EXPECT_THAT(ValidateBundlePath("./index.js"), InvalidWith("'.' segment"));
  EXPECT_THAT(ValidateBundlePath("a/./b"), InvalidWith("'.' segment"));
}

TEST(ValidatePathTest, RejectsLeadingSlash) {
  EXPECT_THAT(ValidateBundlePath("/etc/passwd"), InvalidWith("absolute"));
}

TEST(ValidatePathTest, RejectsNul) {
  EXPECT_THAT(ValidateBundlePath(std::string("a\0.js", 5)), InvalidWith("NUL"));
}

TEST(ValidatePathTest, RejectsBackslash) {
  EXPECT_THAT(ValidateBundlePath("lib\\util.js"), InvalidWith("backslash"));
  EXPECT_THAT(ValidateBundlePath("..\\x"), InvalidWith("backslash"));
}

TEST(ValidatePathTest, RejectsEmptySegments) {
  for (const char* path : {"a//b.js", "a/", "lib/"}) {
    EXPECT_THAT(ValidateBundlePath(path), InvalidWith("empty segment")) << path;
  }
}

TEST(ValidatePathTest, RejectsOverlongPath) {
  EXPECT_TRUE(ValidateBundlePath(std::string(1024, 'a')).ok());
  EXPECT_THAT(ValidateBundlePath(std::string(1025, 'a')), InvalidWith("longer than 1024"));
}

TEST(ValidateBundleTest, AcceptsAValidBundle) {
  EXPECT_TRUE(ValidateBundle(Bundle({"index.js", "lib/a.js"})).ok());
}

TEST(ValidateBundleTest, RejectsEmptyBundle) {
  EXPECT_THAT(ValidateBundle(kiln::v1::Bundle()), InvalidWith("no files"));
}

TEST(ValidateBundleTest, RejectsMoreThan1000Files) {
  kiln::v1::Bundle bundle;
  for (int i = 0; i < 1000; ++i) bundle.add_files()->set_path(absl::StrCat("f", i, ".js"));
  bundle.set_main_module("f0.js");
  EXPECT_TRUE(ValidateBundle(bundle).ok());
  bundle.add_files()->set_path("one-more.js");
  EXPECT_THAT(ValidateBundle(bundle), InvalidWith("1001 files; the limit is 1000"));
}

TEST(ValidateBundleTest, RejectsMoreThan10MiB) {
  kiln::v1::Bundle bundle = Bundle({"index.js", "big.bin"});
  bundle.mutable_files(1)->set_content(std::string(10 * 1024 * 1024 - 18, 'x'));
  ASSERT_EQ(bundle.files(0).content().size(), 18u);
  EXPECT_TRUE(ValidateBundle(bundle).ok());  // exactly 10 MiB
  bundle.mutable_files(1)->mutable_content()->push_back('x');
  EXPECT_THAT(ValidateBundle(bundle), InvalidWith("10485761 bytes; the limit is 10485760"));
}

TEST(ValidateBundleTest, RejectsDuplicatePaths) {
  EXPECT_THAT(ValidateBundle(Bundle({"index.js", "a.js", "a.js"})),
              InvalidWith("\"a.js\" appears more than once"));
}

TEST(ValidateBundleTest, RejectsAnInvalidPathNamingIt) {
  EXPECT_THAT(ValidateBundle(Bundle({"index.js", "../escape.js"})),
              InvalidWith("\"../escape.js\""));
}

TEST(ValidateBundleTest, RequiresTheMainModule) {
  EXPECT_THAT(ValidateBundle(Bundle({"index.js"}, "")), InvalidWith("no main module"));
  EXPECT_THAT(ValidateBundle(Bundle({"index.js"}, "main.js")),
              InvalidWith("main module \"main.js\" is not a file in the bundle"));
}

TEST(ValidateEnvTest, AcceptsIdentifiers) {
  for (const char* name : {"A", "_", "API_KEY", "camelCase", "x1", "_9"}) {
    EXPECT_TRUE(ValidateEnvName(name).ok()) << name;
  }
}

TEST(ValidateEnvTest, RejectsNonIdentifiers) {
  for (const char* name : {"1X", "A-B", "A B", "A.B", "$X", "é"}) {
    EXPECT_THAT(ValidateEnvName(name), InvalidWith("must be letters, digits and '_'")) << name;
  }
  EXPECT_THAT(ValidateEnvName(""), InvalidWith("empty name"));
  EXPECT_THAT(ValidateEnvName(std::string(64, 'A')), InvalidWith("longer than 63"));
}

TEST(ValidateConfigTest, AcceptsUpTo64Bindings) {
  kiln::v1::FunctionConfig config;
  for (int i = 0; i < 60; ++i) (*config.mutable_vars())[absl::StrCat("V", i)] = "x";
  for (int i = 0; i < 4; ++i) config.add_secret_names(absl::StrCat("S", i));
  EXPECT_TRUE(ValidateFunctionConfig(config).ok());
  config.add_secret_names("S4");
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("65 env bindings"));
}

TEST(ValidateConfigTest, RejectsABadVarName) {
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["OK"] = "1";
  (*config.mutable_vars())["NOT-OK"] = "1";
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("\"NOT-OK\""));
}

TEST(ValidateConfigTest, RejectsAVarValueOver5KiB) {
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["BIG"] = std::string(5 * 1024, 'x');
  EXPECT_TRUE(ValidateFunctionConfig(config).ok());
  (*config.mutable_vars())["BIG"].push_back('x');
  EXPECT_THAT(ValidateFunctionConfig(config),
              InvalidWith("env var \"BIG\" is 5121 bytes; the limit is 5120"));
}

TEST(ValidateConfigTest, RejectsBadDuplicateOrShadowingSecretNames) {
  kiln::v1::FunctionConfig config;
  config.add_secret_names("9lives");
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("\"9lives\""));
  config.Clear();
  config.add_secret_names("TOKEN");
  config.add_secret_names("TOKEN");
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("\"TOKEN\" is listed more than once"));
  config.Clear();
  (*config.mutable_vars())["TOKEN"] = "plain";
  config.add_secret_names("TOKEN");
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("same name as an env var"));
}

TEST(ValidateSecretTest, ChecksNameAndSize) {
  EXPECT_TRUE(ValidateSecret("API_KEY", std::string(5 * 1024, 'k')).ok());
  EXPECT_THAT(ValidateSecret("API_KEY", std::string(5 * 1024 + 1, 'k')),
              InvalidWith("secret \"API_KEY\" is 5121 bytes"));
  EXPECT_THAT(ValidateSecret("api-key", "v"), InvalidWith("\"api-key\""));
}

TEST(ValidateSecretTest, ValueIsNonEmptyUtf8Text) {
  EXPECT_TRUE(ValidateSecret("K", "caf\xc3\xa9 \xf0\x9f\x94\x91").ok());  // "café 🔑"
  EXPECT_THAT(ValidateSecret("K", ""), InvalidWith("secret \"K\" has an empty value"));
  EXPECT_THAT(ValidateSecret("K", "\xff"), InvalidWith("secret \"K\" is not UTF-8 text"));
  EXPECT_THAT(ValidateSecret("K", "\xc0\xaf"), InvalidWith("not UTF-8"));      // overlong '/'
  EXPECT_THAT(ValidateSecret("K", "\xed\xa0\x80"), InvalidWith("not UTF-8"));  // a surrogate
  EXPECT_THAT(ValidateSecret("K", "ab\xe2\x82"), InvalidWith("not UTF-8"));    // cut short
}

TEST(ValidateDeployTest, ChecksEveryPart) {
  kiln::v1::FunctionConfig config;
  kiln::v1::Bundle bundle = Bundle({"index.js"});
  EXPECT_TRUE(ValidateDeploy("default", "hello", bundle, config).ok());
  EXPECT_THAT(ValidateDeploy("Default", "hello", bundle, config), InvalidWith("tenant name"));
  EXPECT_THAT(ValidateDeploy("default", "Hello", bundle, config), InvalidWith("function name"));
  EXPECT_THAT(ValidateDeploy("default", "hello", Bundle({"/abs.js"}), config),
              InvalidWith("absolute"));
  (*config.mutable_vars())["1"] = "";
  EXPECT_THAT(ValidateDeploy("default", "hello", bundle, config), InvalidWith("\"1\""));
}

TEST(ValidateTest, LimitsWithinTheirRanges) {
  kiln::v1::Limits limits;
  EXPECT_TRUE(ValidateLimits(limits).ok());  // all defaults
  limits.set_cpu_ms(30000);
  limits.set_wall_ms(900000);
  limits.set_wait_until_ms(900000);
  limits.set_heap_bytes(16u << 20);
  limits.set_request_body_bytes(32u << 20);
  limits.set_response_body_bytes(128u << 20);
  EXPECT_TRUE(ValidateLimits(limits).ok());
  auto with = [&](auto set) {
    kiln::v1::Limits bad = limits;
    set(bad);
    return ValidateLimits(bad);
  };
  EXPECT_THAT(with([](auto& l) { l.set_cpu_ms(30001); }), InvalidWith("limits.cpu_ms"));
  EXPECT_THAT(with([](auto& l) { l.set_wall_ms(900001); }), InvalidWith("limits.wall_ms"));
  EXPECT_THAT(with([](auto& l) { l.set_wait_until_ms(4294967295u); }), InvalidWith("limits.wait_until_ms"));
  EXPECT_THAT(with([](auto& l) { l.set_heap_bytes(1u << 20); }), InvalidWith("16 to 2048 MiB"));
  EXPECT_THAT(with([](auto& l) { l.set_heap_bytes(4096ull << 20); }), InvalidWith("16 to 2048 MiB"));
  EXPECT_THAT(with([](auto& l) { l.set_request_body_bytes((32u << 20) + 1); }), InvalidWith("at most 32 MiB"));
  EXPECT_THAT(with([](auto& l) { l.set_response_body_bytes((128u << 20) + 1); }), InvalidWith("limits.response_body"));
  kiln::v1::FunctionConfig config;
  config.mutable_limits()->set_wall_ms(1000000);
  EXPECT_THAT(ValidateFunctionConfig(config), InvalidWith("limits.wall_ms"));
}

}  // namespace
}  // namespace kiln::scheduler
