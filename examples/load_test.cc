// Every example deploys as written: its kiln.toml parses, its files are
// collected, and the client-side checks pass; the config it declares arrives
// in the DeployRequest.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sdk/client/function_loader.h"

namespace {

std::string Example(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (workspace ? workspace : "kiln") +
         "/examples/" + name;
}

kiln::v1::DeployRequest Load(const std::string& name) {
  absl::StatusOr<kiln::v1::DeployRequest> request = kiln::sdk::LoadFunctionDir(Example(name));
  EXPECT_TRUE(request.ok()) << name << ": " << request.status();
  if (!request.ok()) return {};
  EXPECT_EQ(request->name(), name);
  EXPECT_EQ(request->bundle().main_module(), "index.js");
  EXPECT_EQ(request->bundle().files_size(), 1) << name;
  return *request;
}

TEST(ExamplesTest, Hello) { EXPECT_EQ(Load("hello").config().vars().at("WHO"), "kiln"); }

TEST(ExamplesTest, JsonApi) {
  kiln::v1::DeployRequest request = Load("json-api");
  EXPECT_EQ(request.config().vars().at("API_NAME"), "todos");
  EXPECT_EQ(request.config().limits().cpu_ms(), 50u);
}

TEST(ExamplesTest, Streaming) { EXPECT_EQ(Load("streaming").config().limits().cpu_ms(), 200u); }

TEST(ExamplesTest, QueueConsumerDeclaresItsConsumer) {
  kiln::v1::DeployRequest request = Load("queue-consumer");
  ASSERT_EQ(request.config().queue_consumers_size(), 1);
  const kiln::v1::QueueConsumer& consumer = request.config().queue_consumers(0);
  EXPECT_EQ(consumer.queue(), "orders");
  EXPECT_EQ(consumer.max_batch_size(), 10u);
  EXPECT_EQ(consumer.max_batch_timeout_ms(), 2000u);
  EXPECT_EQ(consumer.max_retries(), 5u);
  EXPECT_EQ(consumer.dead_letter_queue(), "orders-failed");
}

TEST(ExamplesTest, ScheduledJobDeclaresItsCrons) {
  kiln::v1::DeployRequest request = Load("scheduled-job");
  ASSERT_EQ(request.config().crons_size(), 2);
  EXPECT_EQ(request.config().crons(0).cron(), "*/5 * * * *");
  EXPECT_EQ(request.config().crons(1).cron(), "0 3 * * *");
}

}  // namespace
