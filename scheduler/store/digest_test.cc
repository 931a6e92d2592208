// Content hashes (digest.h) and tokens (token.h): known SHA-256 vectors, the
// canonical bundle encoding, token format, parsing and hashing.
#include "scheduler/store/digest.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/store/token.h"

namespace kiln::scheduler {
namespace {

TEST(DigestTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, IsSha256Hex) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));  // lowercase only
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
}

kiln::v1::Bundle TwoFiles(bool reversed) {
  kiln::v1::Bundle bundle;
  bundle.set_main_module("index.js");
  const char* paths[] = {"index.js", "lib/a.js"};
  for (int i = 0; i < 2; ++i) {
    kiln::v1::BundleFile* file = bundle.add_files();
    file->set_path(paths[reversed ? 1 - i : i]);
    file->set_content(absl::StrCat("content of ", file->path()));
  }
  return bundle;
}

TEST(DigestTest, BundleHashIgnoresFileOrder) {
  EXPECT_EQ(BundleSha256(TwoFiles(false)), BundleSha256(TwoFiles(true)));
  EXPECT_EQ(CanonicalBundleBytes(TwoFiles(true)), CanonicalBundleBytes(TwoFiles(false)));
}

TEST(DigestTest, BundleHashCoversContentPathsAndMain) {
  const std::string base = BundleSha256(TwoFiles(false));
  kiln::v1::Bundle changed = TwoFiles(false);
  changed.mutable_files(1)->mutable_content()->append(" ");
  EXPECT_NE(BundleSha256(changed), base);
  changed = TwoFiles(false);
  changed.mutable_files(1)->set_path("lib/b.js");
  EXPECT_NE(BundleSha256(changed), base);
  changed = TwoFiles(false);
  changed.set_main_module("lib/a.js");
  EXPECT_NE(BundleSha256(changed), base);
}

TEST(DigestTest, CanonicalBytesParseToTheSortedBundle) {
  kiln::v1::Bundle parsed;
  ASSERT_TRUE(parsed.ParseFromString(CanonicalBundleBytes(TwoFiles(true))));
  EXPECT_EQ(parsed.SerializeAsString(), TwoFiles(false).SerializeAsString());
  EXPECT_EQ(Sha256Hex(CanonicalBundleBytes(TwoFiles(true))), BundleSha256(TwoFiles(true)));
}

TEST(TokenTest, FormatAndTenant) {
  absl::StatusOr<std::string> token = NewToken("acme");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), std::string("kiln_acme_").size() + 64);
  EXPECT_EQ(token->rfind("kiln_acme_", 0), 0u);
  absl::StatusOr<std::string> tenant = TokenTenant(*token);
  ASSERT_TRUE(tenant.ok());
  EXPECT_EQ(*tenant, "acme");
}

TEST(TokenTest, TokensAreFresh) { EXPECT_NE(*NewToken("acme"), *NewToken("acme")); }

TEST(TokenTest, TenantWithHyphens) {
  absl::StatusOr<std::string> tenant = TokenTenant(*NewToken("my-team-2"));
  ASSERT_TRUE(tenant.ok());
  EXPECT_EQ(*tenant, "my-team-2");
}

TEST(TokenTest, MalformedTokensAreUnauthenticated) {
  std::string hex(64, 'a');
  for (std::string token :
       {std::string(""), std::string("kiln_"), "kiln_acme_" + hex.substr(1), "kiln__" + hex,
        "kiln_Acme_" + hex, "knil_acme_" + hex, "kiln_acme_" + std::string(64, 'A'),
        "Bearer kiln_acme_" + hex, "kiln_acme" + hex}) {
    EXPECT_EQ(TokenTenant(token).status().code(), absl::StatusCode::kUnauthenticated) << token;
  }
  EXPECT_TRUE(TokenTenant("kiln_acme_" + hex).ok());
}

TEST(TokenTest, HashesEqualIsExact) {
  std::array<uint8_t, 32> a = TokenHash("kiln_a_1");
  std::string ha(reinterpret_cast<const char*>(a.data()), a.size());
  std::string hb = ha;
  EXPECT_TRUE(HashesEqual(ha, hb));
  hb[31] ^= 1;
  EXPECT_FALSE(HashesEqual(ha, hb));
  EXPECT_FALSE(HashesEqual(ha, ha.substr(0, 31)));
  EXPECT_FALSE(HashesEqual(ha, ""));
}

}  // namespace
}  // namespace kiln::scheduler
