// kiln.toml parsing: every key lands in the FunctionConfig a deploy sends, and
// every mistake is an error naming the key, its line and what to write instead.
#include "sdk/client/kiln_toml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace kiln::sdk {
namespace {

using ::testing::HasSubstr;

TEST(KilnTomlTest, MinimalFileLeavesEverythingElseAtDefaults) {
  absl::StatusOr<FunctionManifest> manifest =
      ParseKilnToml("name = \"hello\"\nmain = \"./index.js\"\n", "kiln.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->name, "hello");
  EXPECT_EQ(manifest->main, "index.js");  // "./" dropped: bundle paths have none
  EXPECT_TRUE(manifest->exclude.empty());
  EXPECT_EQ(manifest->config.ByteSizeLong(), 0u);
}

TEST(KilnTomlTest, EmptyFileIsValid) {
  absl::StatusOr<FunctionManifest> manifest = ParseKilnToml("", "kiln.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->name, "");
  EXPECT_EQ(manifest->main, "");
}

TEST(KilnTomlTest, EveryKeyMapsOntoFunctionConfig) {
  constexpr char kToml[] = R"(
name = "api"
main = "src/index.mjs"
routes = ["api.example.com/v1/*", "example.com/api*"]
secrets = ["API_KEY", "DB_PASSWORD"]
allow_eval = true
allow_wasm_codegen = true
exclude = ["*.md", "test/*"]

[vars]
GREETING = "hi"
MODE = "prod"

[limits]
cpu_ms = 100
wall_ms = 5000
heap_mb = 64
request_body_mb = 2
response_body_mb = 8
wait_until_ms = 1000

[[queues.consumers]]
queue = "jobs"
max_batch_size = 25
max_batch_timeout_ms = 2000
max_retries = 5
dead_letter_queue = "jobs-failed"

[[queues.consumers]]
queue = "emails"

[[triggers.crons]]
cron = "*/5 * * * *"

[[triggers.crons]]
cron = "0   3 * * 1"
)";
  absl::StatusOr<FunctionManifest> manifest = ParseKilnToml(kToml, "kiln.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const kiln::v1::FunctionConfig& config = manifest->config;
  EXPECT_EQ(manifest->name, "api");
  EXPECT_EQ(manifest->main, "src/index.mjs");
  EXPECT_THAT(manifest->exclude, ::testing::ElementsAre("*.md", "test/*"));
  ASSERT_EQ(config.routes_size(), 2);
  EXPECT_EQ(config.routes(0).pattern(), "api.example.com/v1/*");
  EXPECT_EQ(config.routes(1).pattern(), "example.com/api*");
  EXPECT_THAT(config.secret_names(), ::testing::ElementsAre("API_KEY", "DB_PASSWORD"));
  EXPECT_TRUE(config.allow_eval());
  EXPECT_TRUE(config.allow_wasm_codegen());
  EXPECT_EQ(config.vars().size(), 2u);
  EXPECT_EQ(config.vars().at("GREETING"), "hi");
  EXPECT_EQ(config.vars().at("MODE"), "prod");
  EXPECT_EQ(config.limits().cpu_ms(), 100u);
  EXPECT_EQ(config.limits().wall_ms(), 5000u);
  EXPECT_EQ(config.limits().heap_bytes(), 64u << 20);
  EXPECT_EQ(config.limits().request_body_bytes(), 2u << 20);
  EXPECT_EQ(config.limits().response_body_bytes(), 8u << 20);
  EXPECT_EQ(config.limits().wait_until_ms(), 1000u);
  ASSERT_EQ(config.queue_consumers_size(), 2);
  EXPECT_EQ(config.queue_consumers(0).queue(), "jobs");
  EXPECT_EQ(config.queue_consumers(0).max_batch_size(), 25u);
  EXPECT_EQ(config.queue_consumers(0).max_batch_timeout_ms(), 2000u);
  EXPECT_EQ(config.queue_consumers(0).max_retries(), 5u);
  EXPECT_EQ(config.queue_consumers(0).dead_letter_queue(), "jobs-failed");
  EXPECT_EQ(config.queue_consumers(1).queue(), "emails");
  EXPECT_EQ(config.queue_consumers(1).max_batch_size(), 0u);
  ASSERT_EQ(config.crons_size(), 2);
  EXPECT_EQ(config.crons(0).cron(), "*/5 * * * *");
  EXPECT_EQ(config.crons(1).cron(), "0 3 * * 1");  // whitespace normalized
}

TEST(KilnTomlTest, CronsAlsoAcceptPlainStrings) {
  absl::StatusOr<FunctionManifest> manifest =
      ParseKilnToml("[triggers]\ncrons = [\"0 * * * *\", \"30 2 * * *\"]\n", "kiln.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_EQ(manifest->config.crons_size(), 2);
  EXPECT_EQ(manifest->config.crons(1).cron(), "30 2 * * *");
}

TEST(KilnTomlTest, InlineTablesWork) {
  absl::StatusOr<FunctionManifest> manifest =
      ParseKilnToml("limits = { cpu_ms = 20 }\nvars = { A = \"1\" }\n", "kiln.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->config.limits().cpu_ms(), 20u);
  EXPECT_EQ(manifest->config.vars().at("A"), "1");
}

struct BadCase {
  const char* label;
  const char* toml;
  std::vector<const char*> expected;  // substrings of the message
};

class KilnTomlErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(KilnTomlErrorTest, IsInvalidArgumentNamingTheProblem) {
  const BadCase& c = GetParam();
  absl::StatusOr<FunctionManifest> manifest = ParseKilnToml(c.toml, "fn/kiln.toml");
  ASSERT_FALSE(manifest.ok()) << c.label;
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
  const std::string message(manifest.status().message());
  EXPECT_THAT(message, ::testing::StartsWith("fn/kiln.toml:")) << c.label;
  for (const char* part : c.expected) EXPECT_THAT(message, HasSubstr(part)) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    EveryErrorPath, KilnTomlErrorTest,
    ::testing::Values(
        BadCase{"syntax", "name = \"hello\nmain = 1\n", {"fn/kiln.toml:1:", "not valid TOML"}},
        BadCase{
            "duplicate key", "name = \"a\"\nname = \"b\"\n", {"fn/kiln.toml:2:", "not valid TOML"}},
        BadCase{"unknown top-level key",
                "name = \"a\"\nnmae = \"b\"\n",
                {"fn/kiln.toml:2:1:", "unknown key \"nmae\"", "did you mean \"name\"",
                 "known keys: name, main"}},
        BadCase{"unknown key far from any",
                "compatibility_date = \"2024-01-01\"\n",
                {"unknown key \"compatibility_date\"", "known keys"}},
        BadCase{"unknown limits key",
                "[limits]\ncpu = 5\n",
                {"fn/kiln.toml:2:1:", "unknown key \"limits.cpu\"",
                 "did you mean \"limits.cpu_ms\"", "known keys in [limits]"}},
        BadCase{"unknown queues key",
                "[[queues.producers]]\nqueue = \"a\"\n",
                {"unknown key \"queues.producers\"", "known keys in [queues]: consumers"}},
        BadCase{"unknown consumer key",
                "[[queues.consumers]]\nqueue = \"a\"\nbatch_size = 5\n",
                {"fn/kiln.toml:3:1:", "unknown key \"queues.consumers.batch_size\""}},
        BadCase{"unknown triggers key",
                "[triggers]\ncron = \"* * * * *\"\n",
                {"unknown key \"triggers.cron\"", "did you mean \"triggers.crons\""}},
        BadCase{"unknown cron table key",
                "[[triggers.crons]]\nschedule = \"* * * * *\"\n",
                {"unknown key \"triggers.crons.schedule\""}},
        BadCase{
            "name not a string",
            "name = 5\n",
            {"fn/kiln.toml:1:8:", "\"name\" must be a string, not an integer", "name = \"hello\""}},
        BadCase{"main not a string",
                "main = [\"a.js\"]\n",
                {"\"main\" must be a string, not an array"}},
        BadCase{"main empty", "main = \"./\"\n", {"\"main\" is empty"}},
        BadCase{"routes not an array",
                "routes = \"example.com/*\"\n",
                {"\"routes\" must be an array of strings, not a string"}},
        BadCase{"route not a string",
                "routes = [\"a.com/*\", 3]\n",
                {"\"routes\" must hold only strings, not an integer"}},
        BadCase{"vars not a table", "vars = \"A=1\"\n", {"\"vars\" must be a table"}},
        BadCase{"var not a string",
                "[vars]\nPORT = 8080\n",
                {"fn/kiln.toml:2:8:", "vars.PORT is an integer", "PORT = \"8080\""}},
        BadCase{"var a boolean",
                "[vars]\nDEBUG = true\n",
                {"vars.DEBUG is a boolean", "quote the value"}},
        BadCase{"secrets not an array",
                "secrets = \"API_KEY\"\n",
                {"\"secrets\" must be an array of strings"}},
        BadCase{"allow_eval not a boolean",
                "allow_eval = \"yes\"\n",
                {"\"allow_eval\" must be true or false, not a string"}},
        BadCase{"allow_wasm_codegen not a boolean",
                "allow_wasm_codegen = 1\n",
                {"\"allow_wasm_codegen\" must be true or false"}},
        BadCase{"exclude not an array",
                "exclude = \"*.md\"\n",
                {"\"exclude\" must be an array of strings"}},
        BadCase{"limits not a table", "limits = 5\n", {"\"limits\" must be a table"}},
        BadCase{"cpu_ms zero",
                "[limits]\ncpu_ms = 0\n",
                {"\"limits.cpu_ms\" is 0; it must be from 1 to 30000",
                 "leave it out for the platform default"}},
        BadCase{"cpu_ms too large", "[limits]\ncpu_ms = 30001\n", {"\"limits.cpu_ms\" is 30001"}},
        BadCase{"wall_ms a float",
                "[limits]\nwall_ms = 1.5\n",
                {"\"limits.wall_ms\" must be a whole number, not a number with a fraction"}},
        BadCase{"heap_mb negative", "[limits]\nheap_mb = -1\n", {"\"limits.heap_mb\" is -1"}},
        BadCase{"wall_ms too large",
                "[limits]\nwall_ms = 4294967296\n",
                {"\"limits.wall_ms\" is 4294967296"}},
        BadCase{"queues not a table", "queues = []\n", {"\"queues\" must be a table"}},
        BadCase{"consumers not an array",
                "[queues]\nconsumers = \"jobs\"\n",
                {"\"queues.consumers\" must be an array of tables"}},
        BadCase{"consumer not a table",
                "[queues]\nconsumers = [\"jobs\"]\n",
                {"\"queues.consumers\" must be an array of tables, not a string"}},
        BadCase{"consumer without queue",
                "[[queues.consumers]]\nmax_batch_size = 5\n",
                {"needs the queue it consumes", "queue = \"jobs\""}},
        BadCase{"consumer queue not a string",
                "[[queues.consumers]]\nqueue = 1\n",
                {"\"queues.consumers.queue\" must be a string"}},
        BadCase{"consumer batch size zero",
                "[[queues.consumers]]\nqueue = \"a\"\nmax_batch_size = 0\n",
                {"\"queues.consumers.max_batch_size\" is 0"}},
        BadCase{"dead letter queue not a string",
                "[[queues.consumers]]\nqueue = \"a\"\ndead_letter_queue = false\n",
                {"\"queues.consumers.dead_letter_queue\" must be a string"}},
        BadCase{"triggers not a table",
                "triggers = [\"* * * * *\"]\n",
                {"\"triggers\" must be a table"}},
        BadCase{"crons not an array",
                "[triggers]\ncrons = \"* * * * *\"\n",
                {"\"triggers.crons\" must be an array of tables or of strings"}},
        BadCase{"cron element not a string",
                "[triggers]\ncrons = [5]\n",
                {"\"triggers.crons\" must be an array of tables or of strings, not an integer"}},
        BadCase{"cron with four fields",
                "[[triggers.crons]]\ncron = \"* * * *\"\n",
                {"fn/kiln.toml:2:8:", "cron \"* * * *\" has 4 fields; write five"}},
        BadCase{"cron string with six fields",
                "[triggers]\ncrons = [\"0 0 * * * *\"]\n",
                {"has 6 fields"}},
        BadCase{"cron table without cron", "[[triggers.crons]]\n", {"needs a cron expression"}},
        BadCase{"cron not a string",
                "[[triggers.crons]]\ncron = 5\n",
                {"\"triggers.crons.cron\" must be a string"}}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string name;
      for (const char* p = info.param.label; *p; ++p) name.push_back(std::isalnum(*p) ? *p : '_');
      return name;
    });

}  // namespace
}  // namespace kiln::sdk
