// Error descriptions and exit codes for every kind of failed call, and how a
// Failure is printed in human and JSON mode.
#include "sdk/cli/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "sdk/client/client.h"

namespace kiln::sdk::cli {
namespace {

using ::testing::HasSubstr;

CallContext Context() {
  CallContext context;
  context.api = "127.0.0.1:7000";
  context.api_source = "default";
  context.token_source = ".kiln/default.token";
  context.data_dir = ".kiln";
  context.tenant = "default";
  context.function = "hello";
  return context;
}

TEST(DescribeStatusTest, ExitCodesByKindOfFailure) {
  absl::Status unreachable = UnreachableError("cannot reach");
  ASSERT_TRUE(IsUnreachable(unreachable));
  EXPECT_EQ(DescribeStatus(unreachable, Context()).exit_code, kExitUnreachable);
  EXPECT_EQ(DescribeStatus(absl::UnauthenticatedError("x"), Context()).exit_code, kExitAuth);
  EXPECT_EQ(DescribeStatus(absl::PermissionDeniedError("x"), Context()).exit_code, kExitAuth);
  for (const absl::Status& status :
       {absl::NotFoundError("x"), absl::InvalidArgumentError("x"), absl::UnavailableError("x"),
        absl::DeadlineExceededError("x"), absl::InternalError("x"),
        absl::ResourceExhaustedError("x"), absl::UnimplementedError("x"),
        absl::FailedPreconditionError("x")}) {
    EXPECT_EQ(DescribeStatus(status, Context()).exit_code, kExitFailed) << status;
  }
}

TEST(DescribeStatusTest, EachSaysWhatToDoNext) {
  EXPECT_THAT(DescribeStatus(absl::DeadlineExceededError("slow"), Context()).hint,
              HasSubstr("--timeout"));
  Failure draining = DescribeStatus(absl::UnavailableError("draining"), Context());
  EXPECT_EQ(draining.message, "the Kiln API at 127.0.0.1:7000 is unavailable: draining");
  EXPECT_THAT(draining.hint, HasSubstr("try again in a moment"));
  EXPECT_THAT(DescribeStatus(absl::UnimplementedError("x"), Context()).hint, HasSubstr("--api"));
  EXPECT_THAT(DescribeStatus(absl::ResourceExhaustedError("quota"), Context()).hint,
              HasSubstr("quota"));
  EXPECT_THAT(DescribeStatus(absl::ResourceExhaustedError(
                                 "Received message larger than max (11000000 vs. 4194304)"),
                             Context())
                  .hint,
              HasSubstr("gRPC receive limit"));
  EXPECT_THAT(DescribeStatus(absl::ResourceExhaustedError(
                                 "the bundle (5243029 bytes as a frame) is larger than a worker "
                                 "accepts (4194304 bytes)"),
                             Context())
                  .hint,
              HasSubstr("make the bundle (and what its top level builds) smaller"));
  EXPECT_THAT(DescribeStatus(absl::InternalError("boom"), Context()).hint, HasSubstr("Kiln bug"));
  Failure denied = DescribeStatus(absl::PermissionDeniedError("not yours"), Context());
  EXPECT_THAT(denied.message, HasSubstr("tenant \"default\": not yours"));
}

std::string Captured(FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[256];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  return text;
}

TEST(OutputTest, FailPrintsMessageHintAndDetail) {
  FILE* out = std::tmpfile();
  FILE* err = std::tmpfile();
  Failure failure;
  failure.code = "X";
  failure.message = "it broke";
  failure.hint = "fix it";
  EXPECT_EQ(Output(false, out, err).Fail(failure), kExitFailed);
  EXPECT_EQ(Captured(err), "kiln: it broke — fix it\n");
  EXPECT_EQ(Captured(out), "");

  FILE* err2 = std::tmpfile();
  failure.detail = "line one\nline two";
  Output(false, out, err2).Fail(failure);
  EXPECT_EQ(Captured(err2), "kiln: it broke\nline one\nline two\nfix it\n");

  FILE* out3 = std::tmpfile();
  FILE* err3 = std::tmpfile();
  failure.exit_code = kExitAuth;
  failure.fields["extra"] = 1;
  EXPECT_EQ(Output(true, out3, err3).Fail(failure), kExitAuth);
  EXPECT_EQ(Captured(out3),
            "{\"error\":{\"code\":\"X\",\"exit_code\":4,\"extra\":1,\"hint\":\"fix it\","
            "\"message\":\"it broke\"}}\n");
  EXPECT_EQ(Captured(err3), "");
  for (FILE* f : {out, err, err2, out3, err3}) std::fclose(f);
}

TEST(OutputTest, JsonNeverThrowsOnInvalidUtf8) {
  EXPECT_EQ(DumpJson(nlohmann::json(std::string("a\xff"))), "\"a\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace kiln::sdk::cli
