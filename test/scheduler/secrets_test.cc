// Tenant secrets and chunked deploys against a real kiln-scheduler with real
// kiln-workers: a secret reaches env, a changed value gives each binding
// function a new version at once, values never come back out, a bound secret
// cannot be deleted, deploys and rollbacks refuse unset secrets, tenants are
// apart; DeployUpload reassembles chunks and refuses ones that do not add up.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "test/scheduler/scheduler_harness.h"

namespace kiln::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kEcho[] = R"JS(
export default {
  fetch(request, env) {
    return new Response(`token=${env.TOKEN ?? "unset"}`);
  },
};
)JS";

kiln::v1::FunctionConfig Binding(const std::string& secret) {
  kiln::v1::FunctionConfig config;
  config.add_secret_names(secret);
  return config;
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    data_ = dir_ + "/data";
  }

  void StartScheduler() {
    scheduler_ = SchedulerProcess::Start(data_, {.workers = 1});
    ASSERT_NE(scheduler_, nullptr);
    client_ = std::make_unique<ControlClient>(scheduler_->address(), scheduler_->DefaultToken());
  }

  static grpc::Status Set(ControlClient& client, const std::string& name, const std::string& value,
                          kiln::v1::SetSecretResponse* response = nullptr,
                          const std::string& tenant = "") {
    kiln::v1::SetSecretRequest request;
    request.set_tenant(tenant);
    request.set_name(name);
    request.set_value(value);
    kiln::v1::SetSecretResponse ignored;
    return client.stub().SetSecret(client.Context().get(), request,
                                   response != nullptr ? response : &ignored);
  }

  static grpc::Status List(ControlClient& client, kiln::v1::ListSecretsResponse* response,
                           const std::string& tenant = "") {
    kiln::v1::ListSecretsRequest request;
    request.set_tenant(tenant);
    return client.stub().ListSecrets(client.Context().get(), request, response);
  }

  static grpc::Status Delete(ControlClient& client, const std::string& name,
                             const std::string& tenant = "") {
    kiln::v1::DeleteSecretRequest request;
    request.set_tenant(tenant);
    request.set_name(name);
    kiln::v1::DeleteSecretResponse response;
    return client.stub().DeleteSecret(client.Context().get(), request, &response);
  }

  // Sends `bytes` as DeployUpload chunks of `chunk` bytes, the first carrying
  // `total` (the real size unless given).
  grpc::Status Upload(const std::string& bytes, size_t chunk, kiln::v1::DeployResponse* response,
                      std::optional<uint64_t> total = std::nullopt) {
    auto context = client_->Context();
    auto writer = client_->stub().DeployUpload(context.get(), response);
    for (size_t at = 0; at < bytes.size() || at == 0; at += chunk) {
      kiln::v1::DeployChunk piece;
      if (at == 0) piece.set_total_bytes(total.value_or(bytes.size()));
      piece.set_data(bytes.substr(at, chunk));
      if (!writer->Write(piece)) break;
      if (bytes.empty()) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  static std::string Serialized(const std::string& name, const std::string& source) {
    kiln::v1::DeployRequest request;
    request.set_name(name);
    *request.mutable_bundle() = OneFileBundle(source);
    return request.SerializeAsString();
  }

  std::string dir_;
  std::string data_;
  std::unique_ptr<SchedulerProcess> scheduler_;
  std::unique_ptr<ControlClient> client_;
};

TEST_F(SecretsTest, ASecretReachesEnvAndAChangeTakesEffectAtOnce) {
  StartScheduler();
  ControlClient& kiln = *client_;
  kiln::v1::DeployResponse deployed;

  // Binding a secret the tenant has not set: refused, nothing created.
  grpc::Status status = kiln.Deploy("echo", kEcho, &deployed, Binding("TOKEN"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("secret \"TOKEN\" is not set in tenant"));
  kiln::v1::FunctionInfo info;
  EXPECT_EQ(kiln.Get("echo", &info).error_code(), grpc::StatusCode::NOT_FOUND);

  kiln::v1::SetSecretResponse set;
  ASSERT_TRUE(Set(kiln, "TOKEN", "sekrit-one", &set).ok());
  EXPECT_TRUE(set.created());
  EXPECT_FALSE(set.unchanged());
  EXPECT_EQ(set.redeployed_size(), 0);

  ASSERT_TRUE(kiln.Deploy("echo", kEcho, &deployed, Binding("TOKEN")).ok());
  ASSERT_TRUE(kiln.Deploy("plain", kEcho, &deployed).ok());
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(kiln.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=sekrit-one");
  ASSERT_TRUE(kiln.Invoke("plain", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=unset");  // not bound: not visible

  // Names and binders, never values.
  kiln::v1::ListSecretsResponse listed;
  ASSERT_TRUE(List(kiln, &listed).ok());
  ASSERT_EQ(listed.secrets_size(), 1);
  EXPECT_EQ(listed.secrets(0).name(), "TOKEN");
  EXPECT_THAT(listed.secrets(0).bound_by(), ElementsAre("echo"));
  EXPECT_THAT(listed.SerializeAsString(), ::testing::Not(HasSubstr("sekrit")));

  // The same value again: nothing happens.
  ASSERT_TRUE(Set(kiln, "TOKEN", "sekrit-one", &set).ok());
  EXPECT_TRUE(set.unchanged());
  EXPECT_EQ(set.redeployed_size(), 0);
  ASSERT_TRUE(kiln.Get("echo", &info).ok());
  EXPECT_EQ(info.active_version(), 1u);

  // A new value: echo (loaded on the worker with the old one) gets version 2,
  // same bundle, and the very next request sees the new value.
  ASSERT_TRUE(Set(kiln, "TOKEN", "sekrit-two", &set).ok());
  EXPECT_FALSE(set.created());
  EXPECT_FALSE(set.unchanged());
  ASSERT_EQ(set.redeployed_size(), 1);
  EXPECT_EQ(set.redeployed(0).name(), "echo");
  EXPECT_EQ(set.redeployed(0).active_version(), 2u);
  EXPECT_EQ(set.redeployed(0).active().bundle_sha256(),
            scheduler::BundleSha256(OneFileBundle(kEcho)));
  ASSERT_TRUE(kiln.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=sekrit-two");
  EXPECT_EQ(invoked.version(), 2u);
  ASSERT_TRUE(kiln.Get("plain", &info).ok());
  EXPECT_EQ(info.active_version(), 1u);  // does not bind it: untouched

  // Bound: cannot be deleted, and nothing changes.
  status = Delete(kiln, "TOKEN");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("bound by echo"));
  ASSERT_TRUE(kiln.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=sekrit-two");

  // Unbound by a redeploy, it can go; then rolling back to a version that
  // binds it is refused.
  ASSERT_TRUE(kiln.Deploy("echo", kEcho, &deployed).ok());
  EXPECT_EQ(deployed.version(), 3u);
  ASSERT_TRUE(Delete(kiln, "TOKEN").ok());
  listed.Clear();
  ASSERT_TRUE(List(kiln, &listed).ok());
  EXPECT_EQ(listed.secrets_size(), 0);
  EXPECT_EQ(Delete(kiln, "TOKEN").error_code(), grpc::StatusCode::NOT_FOUND);
  status = kiln.Rollback("echo", 2, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("\"TOKEN\""));
  ASSERT_TRUE(kiln.Get("echo", &info).ok());
  EXPECT_EQ(info.active_version(), 3u);
  ASSERT_TRUE(kiln.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=unset");
}

TEST_F(SecretsTest, BadSecretsAreRefusedAndChangeNothing) {
  StartScheduler();
  ControlClient& kiln = *client_;
  ASSERT_TRUE(Set(kiln, "KEEP", "kept").ok());
  struct Case {
    std::string name, value, message;
  };
  for (const Case& bad : std::vector<Case>{
           {"not-a-name", "v", "\"not-a-name\""},
           {"", "v", ""},
           {"EMPTY", "", "has an empty value"},
           {"BINARY", std::string("\xff\xfe", 2), "not UTF-8"},
           {"HUGE", std::string(5 * 1024 + 1, 'x'), "the limit is 5120"},
       }) {
    grpc::Status status = Set(kiln, bad.name, bad.value);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.name;
    EXPECT_THAT(status.error_message(), HasSubstr(bad.message)) << bad.name;
  }
  EXPECT_EQ(Delete(kiln, "not-a-name").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  kiln::v1::ListSecretsResponse listed;
  ASSERT_TRUE(List(kiln, &listed).ok());
  ASSERT_EQ(listed.secrets_size(), 1);
  EXPECT_EQ(listed.secrets(0).name(), "KEEP");
}

TEST_F(SecretsTest, SecretsBelongToOneTenantAndNeedItsToken) {
  std::filesystem::create_directories(data_);
  const std::string acme_token = CreateTenant(data_, "acme");
  ASSERT_THAT(acme_token, ::testing::StartsWith("kiln_acme_"));
  StartScheduler();
  ControlClient& mine = *client_;
  ControlClient acme(scheduler_->address(), acme_token);
  ASSERT_TRUE(Set(mine, "TOKEN", "default's").ok());

  kiln::v1::ListSecretsResponse listed;
  EXPECT_EQ(Set(acme, "TOKEN", "x", nullptr, "default").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List(acme, &listed, "default").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Delete(acme, "TOKEN", "default").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(List(acme, &listed).ok());
  EXPECT_EQ(listed.secrets_size(), 0);
  EXPECT_EQ(Delete(acme, "TOKEN").error_code(), grpc::StatusCode::NOT_FOUND);

  // acme's TOKEN is its own.
  ASSERT_TRUE(Set(acme, "TOKEN", "acme's").ok());
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(acme.Deploy("echo", kEcho, &deployed, Binding("TOKEN")).ok());
  ASSERT_TRUE(mine.Deploy("echo", kEcho, &deployed, Binding("TOKEN")).ok());
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(acme.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=acme's");
  ASSERT_TRUE(mine.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=default's");

  for (const std::string& bad : {std::string(""), "kiln_default_" + std::string(64, '0')}) {
    ControlClient stranger(scheduler_->address(), bad);
    EXPECT_EQ(Set(stranger, "TOKEN", "x").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(List(stranger, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Delete(stranger, "TOKEN").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  ASSERT_TRUE(mine.Invoke("echo", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=default's");
}

TEST_F(SecretsTest, DeployUploadReassemblesChunksAndRefusesWhatDoesNotAddUp) {
  StartScheduler();
  const std::string bytes = Serialized("chunked", kEcho);
  kiln::v1::DeployResponse deployed;
  grpc::Status status = Upload(bytes, 7, &deployed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(deployed.version(), 1u);
  EXPECT_EQ(deployed.bundle_sha256(), scheduler::BundleSha256(OneFileBundle(kEcho)));
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(client_->Invoke("chunked", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "token=unset");

  const std::string other = Serialized("other", kEcho);
  struct Case {
    std::string what, bytes;
    std::optional<uint64_t> total;
    std::string message;
  };
  for (const Case& bad : std::vector<Case>{
           {"no total", other, 0, "must give total_bytes"},
           {"too large", other, uint64_t{17} << 20, "at most 16777216"},
           {"short", other, other.size() + 1, "ended after"},
           {"long", other, other.size() - 1, "longer than"},
           {"garbage", "\xff\xff\xff\xff", std::nullopt, "not a kiln.v1.DeployRequest"},
           {"empty", "", std::nullopt, "must give total_bytes"},
       }) {
    kiln::v1::DeployResponse ignored;
    status = Upload(bad.bytes, 5, &ignored, bad.total);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.what;
    EXPECT_THAT(status.error_message(), HasSubstr(bad.message)) << bad.what;
  }
  // Someone else's tenant, and no token.
  kiln::v1::DeployRequest foreign;
  foreign.ParseFromString(other);
  foreign.set_tenant("acme");
  status = Upload(foreign.SerializeAsString(), 1024, &deployed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  client_->set_token("");
  EXPECT_EQ(Upload(other, 1024, &deployed).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  client_->set_token(scheduler_->DefaultToken());
  kiln::v1::ListFunctionsResponse listed;
  ASSERT_TRUE(client_->List(&listed).ok());
  ASSERT_EQ(listed.functions_size(), 1);
  EXPECT_EQ(listed.functions(0).name(), "chunked");
}

}  // namespace
}  // namespace kiln::test
