// Authenticator over a real store: bearer parsing, wrong tokens, acting
// tenants, and the remembered answer surviving only until Forget.
#include "scheduler/server/auth.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "scheduler/store/rocksdb_store.h"

namespace kiln::scheduler {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = ::testing::TempDir() + "/auth_test";
    std::filesystem::remove_all(dir);
    store_ = *RocksDbStore::Open({.path = dir});
    token_ = **store_->EnsureDefaultTenant();
  }
  std::unique_ptr<RocksDbStore> store_;
  std::string token_;
};

TEST_F(AuthTest, BearerTokensOfKnownTenants) {
  Authenticator auth(*store_);
  EXPECT_EQ(*auth.Authenticate(true, "Bearer " + token_), "default");
  EXPECT_EQ(*auth.Authenticate(true, "bearer " + token_), "default");  // scheme is case-insensitive
  EXPECT_EQ(*auth.Authenticate(true, "Bearer " + token_), "default");  // remembered
  for (const std::string& bad :
       {std::string("Bearer"), std::string("Bearer "), "Basic " + token_, token_,
        "Bearer " + token_ + "0", "Bearer kiln_default_" + std::string(64, 'a')}) {
    EXPECT_EQ(auth.Authenticate(true, bad).status().code(), absl::StatusCode::kUnauthenticated)
        << bad;
  }
  EXPECT_EQ(auth.Authenticate(false, "").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, ARotatedTokenStopsWorkingOnceForgotten) {
  Authenticator auth(*store_, absl::Hours(1));
  ASSERT_TRUE(auth.Authenticate(true, "Bearer " + token_).ok());
  std::string fresh = *store_->RotateToken("default");
  auth.Forget();
  EXPECT_EQ(auth.Authenticate(true, "Bearer " + token_).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(*auth.Authenticate(true, "Bearer " + fresh), "default");
}

TEST(ActingTenantTest, TheRequestMayOnlyNameTheTokensTenant) {
  EXPECT_EQ(*Authenticator::ActingTenant("acme", ""), "acme");
  EXPECT_EQ(*Authenticator::ActingTenant("acme", "acme"), "acme");
  EXPECT_EQ(Authenticator::ActingTenant("acme", "default").status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace kiln::scheduler
