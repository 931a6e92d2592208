// Proves gRPC++ and the generated Kiln protos are linked: a Control service in
// this process answers a Deploy call from a client over loopback (port 0), and
// the request's bundle round-trips intact.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kiln/v1/control.grpc.pb.h"

namespace {

class EchoControl final : public kiln::v1::Control::Service {
  grpc::Status Deploy(grpc::ServerContext* context, const kiln::v1::DeployRequest* request,
                      kiln::v1::DeployResponse* response) override {
    if (request->bundle().files_size() == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty bundle");
    }
    response->set_version(7);
    response->set_url("http://" + request->name() + "." + request->tenant() + ".localhost/");
    response->set_bundle_sha256(request->bundle().files(0).content());
    return grpc::Status::OK;
  }
};

TEST(GrpcTest, DeployRoundTripsOverLoopback) {
  EchoControl service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = kiln::v1::Control::NewStub(channel);

  kiln::v1::DeployRequest request;
  request.set_tenant("default");
  request.set_name("hello");
  kiln::v1::BundleFile* file = request.mutable_bundle()->add_files();
  file->set_path("index.js");
  file->set_content(std::string("export default {}\0binary", 24));
  kiln::v1::DeployResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Deploy(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.version(), 7u);
  EXPECT_EQ(response.url(), "http://hello.default.localhost/");
  EXPECT_EQ(response.bundle_sha256(), std::string("export default {}\0binary", 24));

  kiln::v1::DeployRequest empty;
  grpc::ClientContext context2;
  status = stub->Deploy(&context2, empty, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "empty bundle");
  server->Shutdown();
}

}  // namespace
