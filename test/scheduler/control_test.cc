// kiln.v1.Control against a real kiln-scheduler with real kiln-workers, as the
// CLI uses it: deploy -> invoke -> versions -> rollback -> delete, a deploy
// that does not build changes nothing, bad input, logs, tokens, and tenant
// isolation (a second tenant made with `kiln-scheduler --create-tenant`).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "test/scheduler/scheduler_harness.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;

constexpr char kV1[] = R"JS(
export default {
  fetch(request, env) {
    console.log('v1 serving', new URL(request.url).pathname);
    return new Response(`one ${env.GREETING}`);
  },
};
)JS";

constexpr char kV2[] = R"JS(
export default {
  fetch(request, env) {
    return new Response(`two ${env.GREETING}`);
  },
};
)JS";

kiln::v1::FunctionConfig Greeting(const std::string& greeting) {
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["GREETING"] = greeting;
  return config;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    data_ = dir_ + "/data";
  }

  void StartScheduler() {
    scheduler_ = SchedulerProcess::Start(data_);
    ASSERT_NE(scheduler_, nullptr);
    client_ = std::make_unique<ControlClient>(scheduler_->address(), scheduler_->DefaultToken());
  }

  std::string HttpPort() const {
    const std::string address = scheduler_->http_address();
    return address.substr(address.rfind(':') + 1);
  }

  std::string dir_;
  std::string data_;
  std::unique_ptr<SchedulerProcess> scheduler_;
  std::unique_ptr<ControlClient> client_;
};

TEST_F(ControlTest, DeployInvokeVersionsRollbackDelete) {
  StartScheduler();
  ControlClient& kiln = *client_;

  kiln::v1::DeployResponse deployed;
  grpc::Status status = kiln.Deploy("hello", kV1, &deployed, Greeting("world"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(deployed.version(), 1u);
  EXPECT_EQ(deployed.url(), "http://hello.default.localhost:" + HttpPort() + "/");
  EXPECT_EQ(deployed.bundle_sha256(), scheduler::BundleSha256(OneFileBundle(kV1)));
  EXPECT_GT(deployed.build_ms(), 0u);

  kiln::v1::InvokeResponse invoked;
  status = kiln.Invoke("hello", "/a", &invoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Body(invoked), "one world");
  EXPECT_EQ(invoked.version(), 1u);
  EXPECT_EQ(invoked.result().http().status(), 200u);
  EXPECT_FALSE(invoked.request_id().empty());
  EXPECT_THAT(invoked.worker_id(), HasSubstr("local-"));

  ASSERT_TRUE(kiln.Deploy("hello", kV2, &deployed, Greeting("again")).ok());
  EXPECT_EQ(deployed.version(), 2u);
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "two again");

  // A deploy that does not build answers with the worker's file:line:column
  // and changes nothing.
  status = kiln.Deploy("hello", "export default {\n  fetch() { return ; ]\n}", &deployed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("index.js:2:"));
  EXPECT_THAT(status.error_message(), HasSubstr("SyntaxError"));
  status =
      kiln.Deploy("hello", "throw new Error('top-level boom');\nexport default {};", &deployed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("top-level boom"));
  // Bad input.
  EXPECT_EQ(kiln.Deploy("Not_A_Name", kV1, &deployed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  kiln::v1::Bundle escaping = OneFileBundle(kV1);
  escaping.mutable_files(0)->set_path("../index.js");
  escaping.set_main_module("../index.js");
  EXPECT_EQ(kiln.Deploy("hello", escaping, &deployed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  kiln::v1::FunctionConfig bad_route;
  bad_route.add_routes()->set_pattern("https://example.com/*");
  EXPECT_EQ(kiln.Deploy("hello", kV1, &deployed, bad_route).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  kiln::v1::ListVersionsResponse versions;
  ASSERT_TRUE(kiln.Versions("hello", &versions).ok());
  ASSERT_EQ(versions.versions_size(), 2);
  EXPECT_EQ(versions.active_version(), 2u);
  EXPECT_EQ(versions.versions(0).version(), 1u);
  EXPECT_EQ(versions.versions(0).bundle_sha256(), scheduler::BundleSha256(OneFileBundle(kV1)));
  EXPECT_EQ(versions.versions(1).bundle_sha256(), scheduler::BundleSha256(OneFileBundle(kV2)));
  EXPECT_EQ(versions.versions(1).config().vars().at("GREETING"), "again");
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "two again");

  kiln::v1::FunctionInfo info;
  ASSERT_TRUE(kiln.Get("hello", &info).ok());
  EXPECT_EQ(info.tenant(), "default");
  EXPECT_EQ(info.active_version(), 2u);
  EXPECT_EQ(info.url(), "http://hello.default.localhost:" + HttpPort() + "/");
  EXPECT_EQ(info.active().bundle_sha256(), scheduler::BundleSha256(OneFileBundle(kV2)));
  kiln::v1::ListFunctionsResponse listed;
  ASSERT_TRUE(kiln.List(&listed).ok());
  ASSERT_EQ(listed.functions_size(), 1);
  EXPECT_EQ(listed.functions(0).name(), "hello");

  // A named older version runs without becoming active.
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked, /*version=*/1).ok());
  EXPECT_EQ(Body(invoked), "one world");
  EXPECT_EQ(invoked.version(), 1u);

  // Rollback: to the previous version, then forward by number.
  ASSERT_TRUE(kiln.Rollback("hello", 0, &info).ok());
  EXPECT_EQ(info.active_version(), 1u);
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "one world");
  EXPECT_EQ(kiln.Rollback("hello", 0, &info).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(kiln.Rollback("hello", 2, &info).ok());
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "two again");
  EXPECT_EQ(kiln.Rollback("hello", 99, &info).error_code(), grpc::StatusCode::NOT_FOUND);

  // Unknowns.
  EXPECT_EQ(kiln.Invoke("nope", "/", &invoked).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(kiln.Get("nope", &info).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(kiln.Invoke("hello", "/", &invoked, 77).error_code(), grpc::StatusCode::NOT_FOUND);

  // Delete: gone everywhere; the name can be deployed again with a new number.
  ASSERT_TRUE(kiln.Delete("hello").ok());
  EXPECT_EQ(kiln.Get("hello", &info).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(kiln.Invoke("hello", "/", &invoked).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(kiln.Versions("hello", &versions).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(kiln.Delete("hello").error_code(), grpc::StatusCode::NOT_FOUND);
  listed.Clear();
  ASSERT_TRUE(kiln.List(&listed).ok());
  EXPECT_EQ(listed.functions_size(), 0);
  ASSERT_TRUE(kiln.Deploy("hello", kV2, &deployed, Greeting("reborn")).ok());
  EXPECT_EQ(deployed.version(), 3u);
  ASSERT_TRUE(kiln.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "two reborn");
}

TEST_F(ControlTest, FunctionsAnswerHttpThroughTheGateway) {
  StartScheduler();
  kiln::v1::FunctionConfig routed = Greeting("http");
  routed.add_routes()->set_pattern("api.example.com/v1/*");
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(client_->Deploy("hello", kV1, &deployed, routed).ok());
  ASSERT_TRUE(client_->Deploy("other", kV2, &deployed, Greeting("other")).ok());
  const std::string http = scheduler_->http_address();

  std::string response = HttpGet(http, "hello.default.localhost", "/x?y=1");
  EXPECT_THAT(response, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\none http"));
  EXPECT_THAT(response, HasSubstr("kiln-request-id: "));
  response = HttpGet(http, "other.default.localhost:8080", "/");
  EXPECT_THAT(response, HasSubstr("\r\n\r\ntwo other"));
  // A custom route, and what matches nothing.
  response = HttpGet(http, "api.example.com", "/v1/users");
  EXPECT_THAT(response, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\none http"));
  EXPECT_THAT(HttpGet(http, "api.example.com", "/v2"), ::testing::StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(HttpGet(http, "nope.default.localhost", "/"), ::testing::StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(HttpGet(http, "hello.acme.localhost", "/"), ::testing::StartsWith("HTTP/1.1 404"));
  // The URL a deploy answers is where the function is.
  EXPECT_EQ(deployed.url(), "http://other.default.localhost:" + HttpPort() + "/");
}

TEST_F(ControlTest, FunctionsSurviveARestart) {
  StartScheduler();
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(client_->Deploy("hello", kV1, &deployed, Greeting("durable")).ok());
  scheduler_->process().Signal(SIGTERM);
  std::optional<int> exit = scheduler_->process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  StartScheduler();
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(client_->Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "one durable");
}

TEST_F(ControlTest, TokensAreRequired) {
  StartScheduler();
  const std::string token = scheduler_->DefaultToken();
  ASSERT_THAT(token, ::testing::StartsWith("kiln_default_"));
  kiln::v1::ListFunctionsResponse listed;
  kiln::v1::DeployResponse deployed;
  for (const std::string& bad :
       {std::string(""), std::string("nonsense"), "kiln_default_" + std::string(64, '0'),
        token + "x", "kiln_acme_" + token.substr(std::string("kiln_default_").size())}) {
    ControlClient client(scheduler_->address(), bad);
    EXPECT_EQ(client.List(&listed).error_code(), grpc::StatusCode::UNAUTHENTICATED) << bad;
    EXPECT_EQ(client.Deploy("hello", kV1, &deployed).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << bad;
  }
  // Not a bearer token.
  kiln::v1::ListFunctionsRequest request;
  grpc::ClientContext basic;
  basic.AddMetadata("authorization", "Basic " + token);
  EXPECT_EQ(client_->stub().ListFunctions(&basic, request, &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The default token file is private.
  struct stat st;
  ASSERT_EQ(stat((data_ + "/default.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(client_->List(&listed).ok());
}

TEST_F(ControlTest, TenantsCannotSeeOrTouchEachOther) {
  // The second tenant is created with the scheduler's admin path while it is
  // not running (the store is single-process).
  std::filesystem::create_directories(data_);
  const std::string acme_token = CreateTenant(data_, "acme");
  ASSERT_THAT(acme_token, ::testing::StartsWith("kiln_acme_"));
  EXPECT_EQ(CreateTenant(data_, "acme"), "");  // exists already
  StartScheduler();
  ControlClient& mine = *client_;  // tenant default
  ControlClient acme(scheduler_->address(), acme_token);

  kiln::v1::FunctionConfig routed = Greeting("default's");
  routed.add_routes()->set_pattern("example.com/*");
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(mine.Deploy("hello", kV1, &deployed, routed).ok());
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(mine.Invoke("hello", "/x", &invoked).ok());

  // acme names default's function: refused, whatever the call.
  kiln::v1::FunctionInfo info;
  kiln::v1::ListVersionsResponse versions;
  kiln::v1::ListFunctionsResponse listed;
  EXPECT_EQ(acme.Get("hello", &info, "default").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.Versions("hello", &versions, "default").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.List(&listed, "default").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.Invoke("hello", "/", &invoked, 0, "default").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.Deploy("hello", kV2, &deployed, {}, "default").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.Rollback("hello", 1, &info, "default").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(acme.Delete("hello", "default").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    kiln::v1::TailLogsRequest request;
    request.set_tenant("default");
    auto context = acme.Context();
    auto reader = acme.stub().TailLogs(context.get(), request);
    kiln::v1::LogEntry entry;
    EXPECT_FALSE(reader->Read(&entry));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // In its own tenant, acme sees nothing of default's.
  EXPECT_EQ(acme.Get("hello", &info).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(acme.Invoke("hello", "/", &invoked).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(acme.Delete("hello").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(acme.List(&listed).ok());
  EXPECT_EQ(listed.functions_size(), 0);
  {
    kiln::v1::TailLogsRequest request;
    request.set_backlog(100);
    auto context = acme.Context();
    auto reader = acme.stub().TailLogs(context.get(), request);
    kiln::v1::LogEntry entry;
    while (reader->Read(&entry)) ADD_FAILURE() << "acme saw a log line: " << entry.message();
    EXPECT_TRUE(reader->Finish().ok());
  }
  // A route on a host default routes cannot be taken, not even a sub-path.
  kiln::v1::FunctionConfig hijack;
  hijack.add_routes()->set_pattern("example.com/admin/*");
  grpc::Status status = acme.Deploy("site", kV2, &deployed, hijack);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  // acme's own function of the same name is its own.
  ASSERT_TRUE(acme.Deploy("hello", kV2, &deployed, Greeting("acme's")).ok());
  EXPECT_EQ(deployed.version(), 1u);
  EXPECT_EQ(deployed.url(), "http://hello.acme.localhost:" + HttpPort() + "/");
  ASSERT_TRUE(acme.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "two acme's");
  ASSERT_TRUE(mine.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "one default's");
  ASSERT_TRUE(acme.Delete("hello").ok());
  ASSERT_TRUE(mine.Invoke("hello", "/", &invoked).ok());
  EXPECT_EQ(Body(invoked), "one default's");
}

TEST_F(ControlTest, LogsCarryRequestIdsAndFollow) {
  StartScheduler();
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(client_->Deploy("hello", kV1, &deployed, Greeting("logs")).ok());
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(client_->Invoke("hello", "/first", &invoked).ok());
  const std::string first_id = invoked.request_id();

  // Follow from the backlog, then see a later invocation's line arrive.
  kiln::v1::TailLogsRequest request;
  request.set_name("hello");
  request.set_follow(true);
  request.set_backlog(10);
  auto context = client_->Context();
  auto reader = client_->stub().TailLogs(context.get(), request);
  kiln::v1::LogEntry entry;
  // Log lines travel separately from results: the first may still be on its way.
  ASSERT_TRUE(reader->Read(&entry));
  EXPECT_EQ(entry.message(), "v1 serving /first");
  EXPECT_EQ(entry.request_id(), first_id);
  EXPECT_EQ(entry.tenant(), "default");
  EXPECT_EQ(entry.function(), "hello");
  EXPECT_EQ(entry.version(), 1u);
  EXPECT_EQ(entry.level(), kiln::v1::LogEntry::LOG);

  ASSERT_TRUE(client_->Invoke("hello", "/second", &invoked).ok());
  ASSERT_TRUE(reader->Read(&entry));
  EXPECT_EQ(entry.message(), "v1 serving /second");
  EXPECT_EQ(entry.request_id(), invoked.request_id());
  context->TryCancel();
  reader->Finish();

  // Logs of a function that does not exist: NotFound.
  request.set_name("nope");
  request.set_follow(false);
  auto context2 = client_->Context();
  auto reader2 = client_->stub().TailLogs(context2.get(), request);
  EXPECT_FALSE(reader2->Read(&entry));
  EXPECT_EQ(reader2->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kiln::test
