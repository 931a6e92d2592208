// Runs the conformance suites of worker/api/conformance/ (Fetch, Encoding,
// Streams, DOM events, other globals) inside Kiln isolates. Prints pass/total
// per suite (the figures README.md reports); fails on any failing case.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "worker/api/api_test_util.h"

namespace kiln::worker::api {
namespace {

std::string ReadRunfile(const std::string& path) {
  std::ifstream file(std::string(std::getenv("TEST_SRCDIR")) + "/kiln/worker/api/conformance/" + path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, EveryCasePasses) {
  Bundle bundle;
  bundle.main_module = "runner.js";
  bundle.files["runner.js"] = ReadRunfile("runner.js");
  bundle.files["harness.js"] = ReadRunfile("harness.js");
  bundle.files["suite.js"] = ReadRunfile(GetParam());
  ASSERT_FALSE(bundle.files["suite.js"].empty());
  Limits limits;
  limits.cpu = absl::Seconds(10);
  InvocationOutcome outcome = testing::RunFetch(bundle, {.limits = limits});
  ASSERT_EQ(outcome.status, InvocationOutcome::Status::kOk) << outcome.error;
  nlohmann::json report = nlohmann::json::parse(outcome.http.body);
  std::printf("%-12s %3d / %3d\n", GetParam().c_str(), report["passed"].get<int>(), report["total"].get<int>());
  for (const auto& failure : report["failures"]) ADD_FAILURE() << failure.get<std::string>();
  EXPECT_GT(report["total"].get<int>(), 10);
}

INSTANTIATE_TEST_SUITE_P(Suites, ConformanceTest,
                         ::testing::Values("fetch.js", "encoding.js", "streams.js", "events.js",
                                           "globals.js"),
                         [](const auto& info) { return info.param.substr(0, info.param.find('.')); });

}  // namespace
}  // namespace kiln::worker::api
