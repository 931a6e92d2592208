// Authenticator: bearer parsing, a small TTL cache keyed by token hash.
#include "scheduler/server/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "scheduler/store/digest.h"

namespace kiln::scheduler {
namespace {

constexpr size_t kMaxRemembered = 4096;
constexpr absl::string_view kBearer = "bearer ";

}  // namespace

absl::StatusOr<std::string> Authenticator::Authenticate(bool present,
                                                        absl::string_view authorization) {
  if (!present) {
    return absl::UnauthenticatedError(
        "missing credentials: send metadata \"authorization: Bearer <token>\" (kiln --token / "
        "KILN_TOKEN)");
  }
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError("the authorization metadata must be \"Bearer <token>\"");
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
  const std::string key = Sha256Hex(token);
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.until > now) return it->second.tenant;
  }
  absl::StatusOr<std::string> tenant = store_.Authenticate(token);
  // Unauthenticated, or the store's own failure (Unavailable, DataLoss).
  if (!tenant.ok()) return tenant.status();
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxRemembered) cache_.clear();
  cache_[key] = Remembered{*tenant, now + ttl_};
  return tenant;
}

absl::StatusOr<std::string> Authenticator::ActingTenant(absl::string_view token_tenant,
                                                        absl::string_view requested) {
  if (requested.empty() || requested == token_tenant) return std::string(token_tenant);
  return absl::PermissionDeniedError(absl::StrCat("the token is tenant ", token_tenant,
                                                  "'s; it cannot act for tenant ", requested));
}

void Authenticator::Forget() {
  absl::MutexLock lock(&mu_);
  cache_.clear();
}

}  // namespace kiln::scheduler
