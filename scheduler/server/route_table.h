// RouteTable: which function an HTTP request goes to, by host and path. Every
// function answers at <function>.<tenant>.<base-domain>; a function's config
// may add custom routes (FunctionConfig.routes, e.g. "api.example.com/v1/*"),
// checked at deploy (a host another tenant routes is refused) and resolved by
// the gateway per request, most specific pattern first. In memory only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kiln/v1/common.pb.h"

namespace kiln::scheduler {

inline constexpr int kMaxRoutesPerFunction = 100;

// A custom route: "<host>[/<path>]". The host is exact ("api.example.com") or
// a wildcard for its subdomains ("*.example.com"; not example.com itself);
// the path is exact ("/health") or a prefix ending in "*" ("/v1/*"); no path
// means every path ("example.com" is "example.com/*"). No scheme, port, query
// or fragment; matching ignores case in the host.
struct RoutePattern {
  std::string host;  // lowercase; for a wildcard, what follows "*."
  bool wildcard_host = false;
  std::string path = "/";   // the literal part, starting with "/"
  bool path_prefix = true;  // the pattern ended in "*"

  // InvalidArgument naming the problem for anything but the syntax above.
  static absl::StatusOr<RoutePattern> Parse(absl::string_view pattern);

  // The canonical text ("*.example.com/v1/*").
  std::string ToString() const;

  // Whether a request to `host` (lowercase, no port) and `path` matches.
  bool Matches(absl::string_view host, absl::string_view path) const;

  // Orders patterns by specificity, most specific greatest: an exact host
  // beats a wildcard, a longer host suffix a shorter one, then a longer path
  // literal a shorter one, then an exact path a prefix of the same length.
  std::tuple<bool, size_t, size_t, bool> Specificity() const {
    return {!wildcard_host, host.size(), path.size(), !path_prefix};
  }

  bool operator==(const RoutePattern& other) const { return ToString() == other.ToString(); }
};

// Whether the host parts of two patterns can match a common host, or one
// names the other's parent domain ("example.com" vs "*.example.com"): such
// hosts may not belong to two tenants.
bool HostsOverlap(const RoutePattern& a, const RoutePattern& b);

struct RouteTarget {
  std::string tenant;
  std::string function;
  // The function's request body limit (Limits.request_body_bytes) as
  // Invoker::ResolveRoute reports it; 0: the front end's own. RouteTable
  // leaves it 0.
  uint64_t max_body_bytes = 0;
  bool operator==(const RouteTarget& other) const {
    return tenant == other.tenant && function == other.function;
  }
};

// Not thread-safe: the scheduler core guards it with its registry lock
// (Resolve under a reader lock, changes under the writer lock).
class RouteTable {
 public:
  explicit RouteTable(std::string base_domain);

  const std::string& base_domain() const { return base_domain_; }

  // "<function>.<tenant>.<base-domain>".
  std::string FunctionHost(absl::string_view tenant, absl::string_view function) const;

  // `config.routes` parsed. InvalidArgument for a malformed pattern, one
  // under the base domain (those addresses are automatic), a duplicate, or
  // more than kMaxRoutesPerFunction.
  absl::StatusOr<std::vector<RoutePattern>> ParseRoutes(
      const kiln::v1::FunctionConfig& config) const;

  // Whether tenant/function may hold `routes`: PermissionDenied when a host
  // overlaps a host another tenant routes (see HostsOverlap); AlreadyExists
  // when another function of the same tenant holds the same pattern.
  absl::Status CheckClaim(absl::string_view tenant, absl::string_view function,
                          absl::Span<const RoutePattern> routes) const;

  // Replaces tenant/function's custom routes (after CheckClaim).
  void Set(absl::string_view tenant, absl::string_view function, std::vector<RoutePattern> routes);
  void Remove(absl::string_view tenant, absl::string_view function);

  // The function a request goes to. `host` may carry a port and any case;
  // `path` may carry a query. A host <function>.<tenant>.<base-domain>
  // (exactly two labels before the base domain) maps to that function
  // whether or not it exists (the caller checks); any other host is looked up
  // among custom routes, most specific match first. nullopt: no route.
  std::optional<RouteTarget> Resolve(absl::string_view host, absl::string_view path) const;

 private:
  struct Entry {
    RoutePattern pattern;
    RouteTarget target;
  };
  static std::string FunctionKey(absl::string_view tenant, absl::string_view function);

  const std::string base_domain_;
  // Keyed by pattern host: exact hosts, and wildcard suffixes.
  absl::flat_hash_map<std::string, std::vector<Entry>> exact_;
  absl::flat_hash_map<std::string, std::vector<Entry>> wildcard_;
  // tenant/function -> its patterns, for Set and Remove.
  absl::flat_hash_map<std::string, std::vector<RoutePattern>> by_function_;
};

}  // namespace kiln::scheduler
