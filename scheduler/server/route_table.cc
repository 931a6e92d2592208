// RouteTable: pattern parsing, host normalization, indexed lookup.
#include "scheduler/server/route_table.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::scheduler {
namespace {

constexpr size_t kMaxHostBytes = 253;
constexpr size_t kMaxPathBytes = 1024;

bool ValidLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
    return false;
  for (char c : label) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

bool ValidHost(absl::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (!ValidLabel(label)) return false;
  }
  return true;
}

// "Sub.Example.COM:8080." -> "sub.example.com". A view of `host` when it
// has no capital letter (the gateway's case: no copy), else of `storage`.
absl::string_view NormalizeHost(absl::string_view host, std::string& storage) {
  if (!host.empty() && host.front() != '[') {
    if (size_t colon = host.rfind(':'); colon != absl::string_view::npos)
      host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (std::none_of(host.begin(), host.end(), [](char c) { return absl::ascii_isupper(c); })) {
    return host;
  }
  storage = absl::AsciiStrToLower(host);
  return storage;
}

bool IsUnder(absl::string_view host, absl::string_view suffix) {
  return host.size() > suffix.size() && absl::EndsWith(host, suffix) &&
         host[host.size() - suffix.size() - 1] == '.';
}

}  // namespace

absl::StatusOr<RoutePattern> RoutePattern::Parse(absl::string_view pattern) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("route \"", pattern, "\": ", why));
  };
  if (absl::StrContains(pattern, "://")) return bad("give host/path, without a scheme");
  RoutePattern route;
  absl::string_view host = pattern, path = "/*";
  if (size_t slash = pattern.find('/'); slash != absl::string_view::npos) {
    host = pattern.substr(0, slash);
    path = pattern.substr(slash);
  }
  if (absl::StartsWith(host, "*.")) {
    route.wildcard_host = true;
    host.remove_prefix(2);
  }
  if (absl::StrContains(host, ':')) return bad("no port: routes match any port");
  std::string lower = absl::AsciiStrToLower(host);
  if (!ValidHost(lower)) {
    return bad(
        "the host must be a DNS name (labels of a-z, 0-9 and '-'), optionally starting with "
        "\"*.\"");
  }
  route.host = std::move(lower);
  if (path.size() > kMaxPathBytes) return bad("the path is too long");
  if (absl::EndsWith(path, "*")) {
    path.remove_suffix(1);
  } else {
    route.path_prefix = false;
  }
  for (char c : path) {
    if (c == '*') return bad("'*' may only end the path");
    if (c == '?' || c == '#') return bad("no query or fragment");
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return bad("no spaces or control characters");
  }
  route.path = std::string(path);
  return route;
}

std::string RoutePattern::ToString() const {
  return absl::StrCat(wildcard_host ? "*." : "", host, path, path_prefix ? "*" : "");
}

bool RoutePattern::Matches(absl::string_view request_host, absl::string_view request_path) const {
  const bool host_ok = wildcard_host ? IsUnder(request_host, host) : request_host == host;
  if (!host_ok) return false;
  return path_prefix ? absl::StartsWith(request_path, path) : request_path == path;
}

bool HostsOverlap(const RoutePattern& a, const RoutePattern& b) {
  if (a.host == b.host) return true;
  if (a.wildcard_host && IsUnder(b.host, a.host)) return true;
  if (b.wildcard_host && IsUnder(a.host, b.host)) return true;
  return false;
}

RouteTable::RouteTable(std::string base_domain)
    : base_domain_(absl::AsciiStrToLower(base_domain)) {}

std::string RouteTable::FunctionKey(absl::string_view tenant, absl::string_view function) {
  return absl::StrCat(tenant, "/", function);
}

std::string RouteTable::FunctionHost(absl::string_view tenant, absl::string_view function) const {
  return absl::StrCat(function, ".", tenant, ".", base_domain_);
}

absl::StatusOr<std::vector<RoutePattern>> RouteTable::ParseRoutes(
    const kiln::v1::FunctionConfig& config) const {
  if (config.routes_size() > kMaxRoutesPerFunction) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxRoutesPerFunction, " routes per function"));
  }
  RoutePattern base{.host = base_domain_, .wildcard_host = true};
  std::vector<RoutePattern> routes;
  absl::flat_hash_set<std::string> seen;
  for (const kiln::v1::Route& r : config.routes()) {
    absl::StatusOr<RoutePattern> route = RoutePattern::Parse(r.pattern());
    if (!route.ok()) return route.status();
    if (HostsOverlap(*route, base)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "route \"", r.pattern(), "\": hosts under ", base_domain_,
          " are not routable by pattern; every function already answers at <function>.<tenant>.",
          base_domain_));
    }
    if (!seen.insert(route->ToString()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("route \"", r.pattern(), "\" is listed twice"));
    }
    routes.push_back(*std::move(route));
  }
  return routes;
}

absl::Status RouteTable::CheckClaim(absl::string_view tenant, absl::string_view function,
                                    absl::Span<const RoutePattern> routes) const {
  for (const auto* index : {&exact_, &wildcard_}) {
    for (const auto& [host, entries] : *index) {
      for (const Entry& entry : entries) {
        const bool same_function =
            entry.target.tenant == tenant && entry.target.function == function;
        if (same_function) continue;
        for (const RoutePattern& route : routes) {
          if (entry.target.tenant != tenant && HostsOverlap(route, entry.pattern)) {
            return absl::PermissionDeniedError(absl::StrCat(
                "route \"", route.ToString(), "\": another tenant routes requests for ",
                entry.pattern.wildcard_host ? "*." : "", entry.pattern.host));
          }
          if (entry.target.tenant == tenant && route == entry.pattern) {
            return absl::AlreadyExistsError(absl::StrCat("route \"", route.ToString(),
                                                         "\" already goes to function ",
                                                         entry.target.function));
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

void RouteTable::Set(absl::string_view tenant, absl::string_view function,
                     std::vector<RoutePattern> routes) {
  Remove(tenant, function);
  if (routes.empty()) return;
  for (const RoutePattern& route : routes) {
    auto& index = route.wildcard_host ? wildcard_ : exact_;
    index[route.host].push_back(
        {route, RouteTarget{.tenant = std::string(tenant), .function = std::string(function)}});
  }
  by_function_[FunctionKey(tenant, function)] = std::move(routes);
}

void RouteTable::Remove(absl::string_view tenant, absl::string_view function) {
  auto it = by_function_.find(FunctionKey(tenant, function));
  if (it == by_function_.end()) return;
  for (const RoutePattern& route : it->second) {
    auto& index = route.wildcard_host ? wildcard_ : exact_;
    auto bucket = index.find(route.host);
    if (bucket == index.end()) continue;
    auto& entries = bucket->second;
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) {
                                   return e.target.tenant == tenant &&
                                          e.target.function == function;
                                 }),
                  entries.end());
    if (entries.empty()) index.erase(bucket);
  }
  by_function_.erase(it);
}

std::optional<RouteTarget> RouteTable::Resolve(absl::string_view raw_host,
                                               absl::string_view path) const {
  std::string storage;
  const absl::string_view host = NormalizeHost(raw_host, storage);
  if (size_t q = path.find_first_of("?#"); q != absl::string_view::npos) path = path.substr(0, q);
  if (path.empty()) path = "/";

  if (IsUnder(host, base_domain_)) {
    // Exactly two labels: <function>.<tenant>.
    absl::string_view labels = host;
    labels.remove_suffix(base_domain_.size() + 1);
    const size_t dot = labels.find('.');
    if (dot == absl::string_view::npos || labels.find('.', dot + 1) != absl::string_view::npos) {
      return std::nullopt;
    }
    const absl::string_view function = labels.substr(0, dot), tenant = labels.substr(dot + 1);
    if (function.empty() || tenant.empty()) return std::nullopt;
    return RouteTarget{.tenant = std::string(tenant), .function = std::string(function)};
  }

  const Entry* best = nullptr;
  auto consider = [&](const std::vector<Entry>& entries) {
    for (const Entry& entry : entries) {
      if (!entry.pattern.Matches(host, path)) continue;
      if (best == nullptr || entry.pattern.Specificity() > best->pattern.Specificity())
        best = &entry;
    }
  };
  if (auto it = exact_.find(host); it != exact_.end()) consider(it->second);
  // Every proper suffix of the host after a dot may hold wildcard routes.
  for (size_t dot = host.find('.'); dot != absl::string_view::npos; dot = host.find('.', dot + 1)) {
    if (auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end()) {
      consider(it->second);
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->target;
}

}  // namespace kiln::scheduler
