// Client against an in-process fake kiln.v1.Control: the token travels as a
// bearer header, the tenant comes from the token, gRPC failures become the
// absl codes the CLI relies on (unreachable, unauthenticated, not found,
// deadline), and the streaming and HTTP helpers work.
#include "sdk/client/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "sdk/testing/fake_control.h"

namespace kiln::sdk {
namespace {

using ::kiln::sdk::testing::FakeControl;
using ::kiln::sdk::testing::FakeControlServer;
using ::kiln::sdk::testing::FakeToken;
using ::testing::HasSubstr;

kiln::v1::DeployRequest HelloRequest() {
  kiln::v1::DeployRequest request;
  request.set_name("hello");
  auto* file = request.mutable_bundle()->add_files();
  file->set_path("index.js");
  file->set_content("export default { fetch() { return new Response('hi'); } };\n");
  request.mutable_bundle()->set_main_module("index.js");
  return request;
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : service_(FakeToken("default")) {}

  void SetUp() override {
    server_ = FakeControlServer::Start(&service_);
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<Client> Connect(std::string token = FakeToken("default")) {
    ClientOptions options;
    options.api = server_->address();
    options.token = std::move(token);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(client).value();
  }

  FakeControl service_;
  std::unique_ptr<FakeControlServer> server_;
};

TEST_F(ClientTest, DeploySendsTheTokenAndTheTokensTenant) {
  std::unique_ptr<Client> client = Connect();
  EXPECT_EQ(client->tenant(), "default");
  absl::StatusOr<kiln::v1::DeployResponse> deployed = client->Deploy(HelloRequest());
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  EXPECT_EQ(deployed->version(), 1u);
  EXPECT_EQ(deployed->url(), "http://hello.default.localhost:8080/");
  ASSERT_EQ(service_.deploys().size(), 1u);
  EXPECT_EQ(service_.deploys()[0].tenant(), "default");
  EXPECT_EQ(service_.deploys()[0].bundle().files(0).path(), "index.js");
}

TEST_F(ClientTest, DeployUploadsInChunksReportingProgress) {
  std::unique_ptr<Client> client = Connect();
  kiln::v1::DeployRequest request = HelloRequest();
  request.mutable_bundle()->add_files()->set_path("data.txt");
  request.mutable_bundle()->mutable_files(1)->set_content(std::string(300 * 1024, 'd'));
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  absl::StatusOr<kiln::v1::DeployResponse> deployed =
      client->Deploy(request, [&](uint64_t sent, uint64_t total) {
        calls.push_back({sent, total});
      });
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  request.set_tenant("default");
  const uint64_t total = request.ByteSizeLong();
  const size_t chunks = (total + kUploadChunkBytes - 1) / kUploadChunkBytes;
  ASSERT_EQ(calls.size(), chunks);
  EXPECT_EQ(service_.last_upload_chunks(), static_cast<int>(chunks));
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, total);
    EXPECT_EQ(calls[i].first, std::min<uint64_t>((i + 1) * kUploadChunkBytes, total));
  }
  ASSERT_EQ(service_.deploys().size(), 1u);
  EXPECT_EQ(service_.deploys()[0].bundle().files(1).content(), std::string(300 * 1024, 'd'));
}

TEST_F(ClientTest, SecretsSetListDelete) {
  std::unique_ptr<Client> client = Connect();
  absl::StatusOr<kiln::v1::SetSecretResponse> set = client->SetSecret("API_KEY", "k1");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->created());
  EXPECT_EQ(service_.secret("default", "API_KEY"), "k1");
  set = client->SetSecret("API_KEY", "k1");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->unchanged());
  absl::StatusOr<std::vector<kiln::v1::SecretInfo>> listed = client->ListSecrets();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name(), "API_KEY");
  EXPECT_TRUE(client->DeleteSecret("API_KEY").ok());
  EXPECT_EQ(client->DeleteSecret("API_KEY").code(), absl::StatusCode::kNotFound);
  // Checked before any call.
  EXPECT_EQ(client->SetSecret("api-key", "v").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->SetSecret("K", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->DeleteSecret("2FA").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.secret("default", "K"), std::nullopt);
  std::unique_ptr<Client> stranger = Connect(FakeToken("default", 'f'));
  EXPECT_EQ(stranger->SetSecret("K", "v").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(stranger->ListSecrets().status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientTest, AnExplicitTenantWins) {
  ClientOptions options;
  options.api = server_->address();
  options.token = FakeToken("default");
  options.tenant = "other";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> list = (*client)->ListFunctions();
  EXPECT_EQ(list.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ClientTest, AWrongTokenIsUnauthenticated) {
  std::unique_ptr<Client> client = Connect(FakeToken("default", 'f'));
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> list = client->ListFunctions();
  EXPECT_EQ(list.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(IsUnreachable(list.status()));
  std::unique_ptr<Client> anonymous = Connect("");
  EXPECT_EQ(anonymous->ListFunctions().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(anonymous->tenant(), "default");
}

TEST_F(ClientTest, NothingListeningIsUnreachableAndNamesTheAddress) {
  std::string address = server_->address();
  server_->Shutdown();
  ClientOptions options;
  options.api = address;
  options.token = FakeToken();
  std::unique_ptr<Client> client = Client::Connect(options).value();
  absl::Time start = absl::Now();
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> list = client->ListFunctions();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // fails fast, no waiting for the deadline
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(IsUnreachable(list.status())) << list.status();
  EXPECT_THAT(list.status().message(), HasSubstr("cannot reach the Kiln API at " + address));
  // A plain Unavailable from a live server is not "unreachable".
  EXPECT_FALSE(IsUnreachable(absl::UnavailableError("draining")));
}

TEST_F(ClientTest, AMalformedAddressFailsAtConnect) {
  ClientOptions options;
  options.api = "no-port";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientTest, ClientSideChecksRunBeforeAnyCall) {
  std::unique_ptr<Client> client = Connect();
  kiln::v1::DeployRequest request = HelloRequest();
  request.mutable_bundle()->set_main_module("missing.js");
  absl::StatusOr<kiln::v1::DeployResponse> deployed = client->Deploy(request);
  EXPECT_EQ(deployed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(service_.deploys().empty());
}

TEST_F(ClientTest, BuildErrorsComeBackAsInvalidArgumentWithTheLocation) {
  std::unique_ptr<Client> client = Connect();
  kiln::v1::DeployRequest request = HelloRequest();
  request.mutable_bundle()->mutable_files(0)->set_content("export default {\n  !!!\n};\n");
  absl::StatusOr<kiln::v1::DeployResponse> deployed = client->Deploy(request);
  EXPECT_EQ(deployed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deployed.status().message(), HasSubstr("index.js:2:3: SyntaxError"));
}

TEST_F(ClientTest, UnknownFunctionsAreNotFound) {
  std::unique_ptr<Client> client = Connect();
  EXPECT_EQ(client->GetFunction("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->ListVersions("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->Rollback("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->DeleteFunction("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->InvokeHttp("nope", HttpCall()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientTest, VersionsRollbackAndDelete) {
  std::unique_ptr<Client> client = Connect();
  ASSERT_TRUE(client->Deploy(HelloRequest()).ok());
  ASSERT_TRUE(client->Deploy(HelloRequest()).ok());
  absl::StatusOr<kiln::v1::ListVersionsResponse> versions = client->ListVersions("hello");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->versions_size(), 2);
  EXPECT_EQ(versions->active_version(), 2u);
  absl::StatusOr<kiln::v1::FunctionInfo> rolled = client->Rollback("hello");
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(rolled->active_version(), 1u);
  EXPECT_EQ(client->Rollback("hello").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client->Rollback("hello", 9).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(client->DeleteFunction("hello").ok());
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> list = client->ListFunctions();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(ClientTest, InvokeHttpAddressesTheFunctionsUrl) {
  std::unique_ptr<Client> client = Connect();
  ASSERT_TRUE(client->Deploy(HelloRequest()).ok());
  HttpCall call;
  call.method = "POST";
  call.path = "items?x=1";
  call.headers = {{"content-type", "text/plain"}};
  call.body = "payload";
  absl::StatusOr<kiln::v1::InvokeResponse> response = client->InvokeHttp("hello", call);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(response->result().has_http());
  EXPECT_EQ(response->result().http().status(), 200u);
  const std::string& body = response->result().http().body();
  EXPECT_THAT(body, HasSubstr("\"url\":\"http://hello.default.localhost:8080/items?x=1\""));
  EXPECT_THAT(body, HasSubstr("\"method\":\"POST\""));
  EXPECT_THAT(body, HasSubstr("\"body\":\"payload\""));
  EXPECT_THAT(body, HasSubstr("\"content-type\":\"text/plain\""));

  // An invocation that fails is a result, not a Status.
  call.path = "/cpu";
  response = client->InvokeHttp("hello", call);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->result().error().kind(), kiln::v1::InvocationError::CPU_LIMIT);
}

TEST_F(ClientTest, TailLogsSendsTheBacklogThenFollowsUntilCancelled) {
  std::unique_ptr<Client> client = Connect();
  ASSERT_TRUE(client->Deploy(HelloRequest()).ok());
  for (const char* path : {"/a", "/b", "/c"}) {
    HttpCall call;
    call.path = path;
    ASSERT_TRUE(client->InvokeHttp("hello", call).ok());
  }
  // Without follow: the last `backlog` entries, then the end.
  absl::StatusOr<std::unique_ptr<LogStream>> stream = client->TailLogs("hello", false, 2);
  ASSERT_TRUE(stream.ok());
  std::vector<std::string> messages;
  while (true) {
    absl::StatusOr<std::optional<kiln::v1::LogEntry>> entry = (*stream)->Next();
    ASSERT_TRUE(entry.ok()) << entry.status();
    if (!entry->has_value()) break;
    messages.push_back((*entry)->message());
  }
  EXPECT_THAT(messages, ::testing::ElementsAre("GET /b", "GET /c"));

  // With follow: new entries arrive; Cancel ends the stream cleanly.
  stream = client->TailLogs("hello", true, 0);
  ASSERT_TRUE(stream.ok());
  std::thread invoker([&] {
    HttpCall call;
    call.path = "/later";
    EXPECT_TRUE(client->InvokeHttp("hello", call).ok());
  });
  absl::StatusOr<std::optional<kiln::v1::LogEntry>> entry = (*stream)->Next();
  invoker.join();
  ASSERT_TRUE(entry.ok()) << entry.status();
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->message(), "GET /later");
  EXPECT_EQ((*entry)->request_id(), "req-4");
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(100));
    (*stream)->Cancel();
  });
  entry = (*stream)->Next();
  canceller.join();
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_FALSE(entry->has_value());

  EXPECT_EQ(client->TailLogs("nope", false, 1).value()->Next().status().code(),
            absl::StatusCode::kNotFound);
}

// A Control whose ListFunctions takes longer than the client waits.
class SlowControl final : public kiln::v1::Control::Service {
  grpc::Status ListFunctions(grpc::ServerContext*, const kiln::v1::ListFunctionsRequest*,
                             kiln::v1::ListFunctionsResponse*) override {
    absl::SleepFor(absl::Seconds(2));
    return grpc::Status::OK;
  }
};

TEST(ClientDeadlineTest, ASlowServerIsDeadlineExceededNamingTheTimeout) {
  SlowControl service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.api = "127.0.0.1:" + std::to_string(port);
  options.call_timeout = absl::Milliseconds(300);
  std::unique_ptr<Client> client = Client::Connect(options).value();
  // Connect first (an unimplemented call answers at once), so only the
  // deadline is being tested.
  EXPECT_EQ(client->GetFunction("x").status().code(), absl::StatusCode::kUnimplemented);
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> list = client->ListFunctions();
  EXPECT_EQ(list.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(list.status().message(), HasSubstr("did not answer within 300ms"));
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace kiln::sdk
