// Key encodings (keys.h): round trips, numeric order of versions, and that a
// tenant's or function's prefix never covers another's keys.
#include "scheduler/store/keys.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kiln::scheduler::internal {
namespace {

bool HasPrefix(const std::string& key, const std::string& prefix) {
  return key.compare(0, prefix.size(), prefix) == 0;
}

TEST(KeysTest, VersionsAreBigEndianAndSortNumerically) {
  EXPECT_EQ(EncodeVersion(1), std::string("\0\0\0\0\0\0\0\1", 8));
  EXPECT_EQ(EncodeVersion(0x0102030405060708ull), "\x01\x02\x03\x04\x05\x06\x07\x08");
  std::vector<uint64_t> numbers = {10, 2, 1, 256, 255, 1ull << 40, 9};
  std::vector<std::string> keys;
  for (uint64_t n : numbers) keys.push_back(VersionKey("t", "f", n));
  std::sort(keys.begin(), keys.end());
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<VersionKeyParts> parts = ParseVersionKey(keys[i]);
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(parts->version, numbers[i]);
  }
  EXPECT_EQ(DecodeVersion(EncodeVersion(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(DecodeVersion("short").has_value());
}

TEST(KeysTest, RoundTrips) {
  std::optional<VersionKeyParts> version = ParseVersionKey(VersionKey("acme", "api", 256));
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->tenant, "acme");
  EXPECT_EQ(version->name, "api");
  EXPECT_EQ(version->version, 256u);  // its encoding holds NUL bytes

  std::optional<FunctionKeyParts> function = ParseFunctionKey(FunctionKey("acme", "api"));
  ASSERT_TRUE(function.has_value());
  EXPECT_EQ(function->tenant, "acme");
  EXPECT_EQ(function->name, "api");

  std::optional<SnapshotKeyParts> snapshot = ParseSnapshotKey(SnapshotKey("ab12", "v8-10.2/x"));
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->sha256, "ab12");
  EXPECT_EQ(snapshot->fingerprint, "v8-10.2/x");

  std::optional<RefKeyParts> ref = ParseRefKey(RefKey("ab12", "fp", "acme", "api", 7));
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->sha256, "ab12");
  EXPECT_EQ(ref->fingerprint, "fp");
  EXPECT_EQ(ref->tenant, "acme");
  EXPECT_EQ(ref->name, "api");
  EXPECT_EQ(ref->version, 7u);
  EXPECT_TRUE(HasPrefix(RefKey("ab12", "fp", "acme", "api", 7), RefPrefix("ab12", "fp")));
  EXPECT_TRUE(HasPrefix(RefKey("ab12", "fp", "acme", "api", 7), RefPrefix("ab12")));
}

TEST(KeysTest, MalformedKeysDoNotParse) {
  EXPECT_FALSE(ParseFunctionKey("no-separator").has_value());
  EXPECT_FALSE(ParseFunctionKey(std::string("a\0b\0c", 5)).has_value());
  EXPECT_FALSE(ParseFunctionKey(std::string("\0b", 2)).has_value());
  EXPECT_FALSE(ParseVersionKey(FunctionKey("a", "b")).has_value());
  EXPECT_FALSE(ParseRefKey(VersionKey("a", "b", 1)).has_value());
}

TEST(KeysTest, PrefixesDoNotCoverOtherNames) {
  // Tenant "a" must not see tenant "a-b"'s functions, nor function "f" see "f-2"'s versions.
  EXPECT_FALSE(HasPrefix(FunctionKey("a-b", "f"), FunctionPrefix("a")));
  EXPECT_FALSE(HasPrefix(FunctionKey("ab", "f"), FunctionPrefix("a")));
  EXPECT_TRUE(HasPrefix(FunctionKey("a", "f"), FunctionPrefix("a")));
  EXPECT_FALSE(HasPrefix(VersionKey("t", "f-2", 1), VersionPrefix("t", "f")));
  EXPECT_FALSE(HasPrefix(VersionKey("t", "f2", 1), VersionPrefix("t", "f")));
  EXPECT_FALSE(HasPrefix(SecretKey("ab", "X"), SecretPrefix("a")));
}

TEST(KeysTest, PrefixEndBoundsExactlyThePrefix) {
  std::string prefix = FunctionPrefix("a");
  std::string end = PrefixEnd(prefix);
  EXPECT_LT(FunctionKey("a", "zzzz"), end);
  EXPECT_LT(prefix, end);
  EXPECT_GE(FunctionKey("a-b", "f"), end);  // "a-" > "a\1": past the end
  EXPECT_GE(FunctionKey("ab", "f"), end);
}

}  // namespace
}  // namespace kiln::scheduler::internal
