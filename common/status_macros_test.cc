// Tests for the status macros: errors propagate unchanged, values move out.
#include "common/status_macros.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace {

absl::StatusOr<std::unique_ptr<std::string>> MakeName(bool ok) {
  if (!ok) return absl::NotFoundError("no such function: hello");
  return std::make_unique<std::string>("hello");
}

absl::StatusOr<size_t> NameLength(bool ok) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<std::string> name, MakeName(ok));
  return name->size();
}

absl::Status Check(bool ok) {
  KILN_RETURN_IF_ERROR(NameLength(ok).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnMovesValue) {
  absl::StatusOr<size_t> length = NameLength(true);
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(*length, 5u);
}

TEST(StatusMacrosTest, ErrorsPropagateUnchanged) {
  absl::Status status = Check(false);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such function: hello");
  EXPECT_TRUE(Check(true).ok());
}

}  // namespace
