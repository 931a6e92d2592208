// API address and token resolution: flag, then environment, then the files
// `kiln up` writes, then the default — and each answer names its source.
#include "sdk/client/endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace kiln::sdk {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = fs::path(tmp ? tmp : "/tmp") /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  EndpointInputs Inputs() {
    EndpointInputs inputs;
    inputs.data_dir = dir_.string();
    inputs.getenv = [this](const char* name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return inputs;
  }

  void WriteFile(const char* name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(EndpointTest, DefaultsWhenNothingIsGiven) {
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(Inputs());
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->api, "127.0.0.1:7000");
  EXPECT_EQ(endpoint->api_source, "default");
  EXPECT_EQ(endpoint->token, "");
  EXPECT_EQ(endpoint->token_source, "none");
}

TEST_F(EndpointTest, ApiResolutionOrderIsFlagEnvFileDefault) {
  WriteFile("api.addr", "  127.0.0.1:7100\nignored second line\n");
  env_["KILN_API"] = "10.0.0.1:7200";
  EndpointInputs inputs = Inputs();
  inputs.api_flag = "[::1]:7300";

  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->api, "[::1]:7300");
  EXPECT_EQ(endpoint->api_source, "--api");

  inputs.api_flag.clear();
  endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->api, "10.0.0.1:7200");
  EXPECT_EQ(endpoint->api_source, "KILN_API");

  env_["KILN_API"] = "";  // empty counts as unset
  endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->api, "127.0.0.1:7100");
  EXPECT_EQ(endpoint->api_source, (dir_ / "api.addr").string());
}

TEST_F(EndpointTest, TokenResolutionOrderIsFlagEnvFileNone) {
  WriteFile("default.token", "kiln_default_from_file\n");
  env_["KILN_TOKEN"] = " from-env \n";
  EndpointInputs inputs = Inputs();
  inputs.token_flag = "from-flag";

  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->token, "from-flag");
  EXPECT_EQ(endpoint->token_source, "--token");

  inputs.token_flag.clear();
  endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->token, "from-env");
  EXPECT_EQ(endpoint->token_source, "KILN_TOKEN");

  env_.erase("KILN_TOKEN");
  endpoint = ResolveEndpoint(inputs);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->token, "kiln_default_from_file");
  EXPECT_EQ(endpoint->token_source, (dir_ / "default.token").string());
}

TEST_F(EndpointTest, BlankFilesAreIgnored) {
  WriteFile("api.addr", "\n");
  WriteFile("default.token", "   \n");
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(Inputs());
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->api_source, "default");
  EXPECT_EQ(endpoint->token_source, "none");
}

TEST_F(EndpointTest, ABadAddressNamesWhereItCameFrom) {
  env_["KILN_API"] = "localhost";
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(Inputs());
  ASSERT_FALSE(endpoint.ok());
  EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(endpoint.status().message(), HasSubstr("from KILN_API"));
  EXPECT_THAT(endpoint.status().message(), HasSubstr("no port"));

  env_.clear();
  WriteFile("api.addr", "garbage");
  endpoint = ResolveEndpoint(Inputs());
  ASSERT_FALSE(endpoint.ok());
  EXPECT_THAT(endpoint.status().message(), HasSubstr("api.addr"));
}

TEST(ValidateApiAddressTest, AcceptsHostPortAndUnixSockets) {
  for (const char* good : {"127.0.0.1:7000", "localhost:0", "[::1]:7000", "kiln.internal:65535",
                           "unix:/run/kiln.sock"}) {
    EXPECT_TRUE(ValidateApiAddress(good).ok()) << good;
  }
  for (const char* bad : {"", "7000", ":7000", "host:", "host:65536", "host:-1", "host:7x",
                          "::1:7000", "[::1:7000", "unix:"}) {
    EXPECT_FALSE(ValidateApiAddress(bad).ok()) << bad;
  }
}

TEST(TenantFromTokenTest, ReadsTheTenantOfWellFormedTokens) {
  const std::string hex(64, 'c');
  EXPECT_EQ(TenantFromToken("kiln_default_" + hex), "default");
  EXPECT_EQ(TenantFromToken("kiln_team-a_" + hex), "team-a");
  EXPECT_EQ(TenantFromToken("kiln_default_" + hex.substr(1)), std::nullopt);  // 63 digits
  EXPECT_EQ(TenantFromToken("kiln_default_" + std::string(64, 'G')), std::nullopt);
  EXPECT_EQ(TenantFromToken("kiln__" + hex), std::nullopt);
  EXPECT_EQ(TenantFromToken("kiln_Upper_" + hex), std::nullopt);
  EXPECT_EQ(TenantFromToken("token_default_" + hex), std::nullopt);
  EXPECT_EQ(TenantFromToken(""), std::nullopt);
}

}  // namespace
}  // namespace kiln::sdk
