// RouteTable: pattern syntax, function hosts, most-specific-wins resolution,
// and the claims a deploy may make.
#include "scheduler/server/route_table.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

RoutePattern P(const std::string& text) {
  absl::StatusOr<RoutePattern> pattern = RoutePattern::Parse(text);
  EXPECT_TRUE(pattern.ok()) << text << ": " << pattern.status();
  return pattern.ok() ? *pattern : RoutePattern();
}

RouteTarget T(const std::string& tenant, const std::string& function) {
  return RouteTarget{.tenant = tenant, .function = function};
}

kiln::v1::FunctionConfig Config(const std::vector<std::string>& patterns) {
  kiln::v1::FunctionConfig config;
  for (const std::string& p : patterns) config.add_routes()->set_pattern(p);
  return config;
}

TEST(RoutePatternTest, ParsesAndNormalizes) {
  EXPECT_EQ(P("API.Example.com/v1/*").ToString(), "api.example.com/v1/*");
  EXPECT_EQ(P("example.com").ToString(), "example.com/*");
  EXPECT_EQ(P("*.example.com/").ToString(), "*.example.com/");
  RoutePattern exact = P("example.com/health");
  EXPECT_FALSE(exact.path_prefix);
  EXPECT_EQ(exact.path, "/health");
}

TEST(RoutePatternTest, RefusesWhatItCannotMatch) {
  for (const char* bad :
       {"", "https://example.com/*", "example.com:8080/*", "*/x", "*", "exa mple.com",
        "example.com/a*b", "example.com/x?y=1", "-bad.com/*", "a..b/*", "ex_ample.com"}) {
    absl::StatusOr<RoutePattern> pattern = RoutePattern::Parse(bad);
    EXPECT_EQ(pattern.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RoutePatternTest, Matches) {
  EXPECT_TRUE(P("example.com/v1/*").Matches("example.com", "/v1/users"));
  EXPECT_FALSE(P("example.com/v1/*").Matches("example.com", "/v2"));
  EXPECT_FALSE(P("example.com/v1/*").Matches("www.example.com", "/v1/x"));
  EXPECT_TRUE(P("example.com/health").Matches("example.com", "/health"));
  EXPECT_FALSE(P("example.com/health").Matches("example.com", "/health/x"));
  EXPECT_TRUE(P("*.example.com/*").Matches("a.b.example.com", "/"));
  EXPECT_FALSE(P("*.example.com/*").Matches("example.com", "/"));
  EXPECT_FALSE(P("*.example.com/*").Matches("badexample.com", "/"));
}

TEST(RouteTableTest, FunctionHostsResolveWithoutRoutes) {
  RouteTable table("localhost");
  EXPECT_EQ(table.FunctionHost("default", "hello"), "hello.default.localhost");
  EXPECT_THAT(table.Resolve("hello.default.localhost:8080", "/x?y"),
              Optional(T("default", "hello")));
  EXPECT_THAT(table.Resolve("HELLO.Default.LOCALHOST.", "/"), Optional(T("default", "hello")));
  EXPECT_EQ(table.Resolve("default.localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("a.b.c.localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("example.com", "/"), std::nullopt);
  // An empty label is no function.
  EXPECT_EQ(table.Resolve(".default.localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("hello..localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("..localhost", "/"), std::nullopt);
  EXPECT_EQ(table.Resolve("a..b.localhost", "/"), std::nullopt);
}

TEST(RouteTableTest, MostSpecificRouteWins) {
  RouteTable table("localhost");
  table.Set("acme", "site", {P("example.com/*")});
  table.Set("acme", "api", {P("example.com/api/*")});
  table.Set("acme", "users", {P("example.com/api/users/*")});
  table.Set("acme", "exact", {P("example.com/api/users/me")});
  table.Set("acme", "wild", {P("*.example.com/*")});
  table.Set("acme", "deeper", {P("*.eu.example.com/*")});
  table.Set("acme", "www", {P("www.example.com/*")});

  EXPECT_THAT(table.Resolve("example.com", "/"), Optional(T("acme", "site")));
  EXPECT_THAT(table.Resolve("example.com", "/api/x"), Optional(T("acme", "api")));
  EXPECT_THAT(table.Resolve("example.com", "/api/users/1"), Optional(T("acme", "users")));
  EXPECT_THAT(table.Resolve("example.com", "/api/users/me"), Optional(T("acme", "exact")));
  EXPECT_THAT(table.Resolve("example.com", "/api/users/me?x=1"), Optional(T("acme", "exact")));
  EXPECT_THAT(table.Resolve("Example.COM:8080", "/api/users/me"), Optional(T("acme", "exact")));
  EXPECT_THAT(table.Resolve("shop.example.com", "/api/x"), Optional(T("acme", "wild")));
  EXPECT_THAT(table.Resolve("x.eu.example.com", "/"), Optional(T("acme", "deeper")));
  // An exact host beats any wildcard, whatever the paths.
  EXPECT_THAT(table.Resolve("www.example.com", "/"), Optional(T("acme", "www")));
  EXPECT_EQ(table.Resolve("example.org", "/"), std::nullopt);
}

TEST(RouteTableTest, ExactPathBeatsPrefixOfTheSameLength) {
  RouteTable table("localhost");
  table.Set("acme", "prefix", {P("example.com/a*")});
  table.Set("acme", "exact", {P("example.com/a")});
  EXPECT_THAT(table.Resolve("example.com", "/a"), Optional(T("acme", "exact")));
  EXPECT_THAT(table.Resolve("example.com", "/ab"), Optional(T("acme", "prefix")));
}

TEST(RouteTableTest, SetReplacesAndRemoveForgets) {
  RouteTable table("localhost");
  table.Set("acme", "site", {P("example.com/*"), P("example.org/*")});
  table.Set("acme", "site", {P("example.net/*")});
  EXPECT_EQ(table.Resolve("example.com", "/"), std::nullopt);
  EXPECT_THAT(table.Resolve("example.net", "/"), Optional(T("acme", "site")));
  table.Remove("acme", "site");
  EXPECT_EQ(table.Resolve("example.net", "/"), std::nullopt);
}

TEST(RouteTableTest, ParseRoutesRefusesTheBaseDomainAndDuplicates) {
  RouteTable table("kiln.example.com");
  EXPECT_EQ(table.ParseRoutes(Config({"hello.acme.kiln.example.com/*"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.ParseRoutes(Config({"kiln.example.com/*"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.ParseRoutes(Config({"*.example.com/*"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table.ParseRoutes(Config({"a.com/*", "A.com/*"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<std::string> many(kMaxRoutesPerFunction + 1, "a.com/x");
  EXPECT_EQ(table.ParseRoutes(Config(many)).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<RoutePattern>> ok = table.ParseRoutes(Config({"a.com/*", "b.com"}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
}

TEST(RouteTableTest, AHostAnotherTenantRoutesCannotBeClaimed) {
  RouteTable table("localhost");
  table.Set("alice", "site", {P("example.com/*"), P("*.shop.com/*")});
  // Same host, a more specific path: would hijack part of alice's site.
  absl::Status claim = table.CheckClaim("bob", "evil", {P("example.com/admin/*")});
  EXPECT_EQ(claim.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(claim.message(), HasSubstr("another tenant"));
  // Under alice's wildcard, or alice's wildcard's own parent.
  EXPECT_EQ(table.CheckClaim("bob", "evil", {P("a.shop.com/*")}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(table.CheckClaim("bob", "evil", {P("shop.com/*")}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(table.CheckClaim("bob", "evil", {P("*.com/*")}).code(),
            absl::StatusCode::kPermissionDenied);
  // Unrelated hosts are fine.
  EXPECT_TRUE(table.CheckClaim("bob", "site", {P("example.org/*"), P("myshop.com/*")}).ok());
  // Alice herself may add paths on her hosts to other functions...
  EXPECT_TRUE(table.CheckClaim("alice", "api", {P("example.com/api/*")}).ok());
  // ...but not the very same pattern another of her functions holds.
  EXPECT_EQ(table.CheckClaim("alice", "api", {P("example.com/*")}).code(),
            absl::StatusCode::kAlreadyExists);
  // A function may keep its own routes on redeploy.
  EXPECT_TRUE(table.CheckClaim("alice", "site", {P("example.com/*")}).ok());
  // Once alice's function is gone, the host is free.
  table.Remove("alice", "site");
  EXPECT_TRUE(table.CheckClaim("bob", "evil", {P("example.com/admin/*")}).ok());
}

}  // namespace
}  // namespace kiln::scheduler
