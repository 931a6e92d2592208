// Token generation, parsing and hashing (token.h), on OpenSSL.
#include "scheduler/store/token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/validate.h"

namespace kiln::scheduler {

absl::StatusOr<std::string> SecureRandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("RAND_bytes failed: no secure random source");
  }
  return out;
}

absl::StatusOr<std::string> NewToken(absl::string_view tenant) {
  KILN_ASSIGN_OR_RETURN(std::string secret, SecureRandomBytes(32));
  return absl::StrCat(kTokenPrefix, tenant, "_", absl::BytesToHexString(secret));
}

absl::StatusOr<std::string> TokenTenant(absl::string_view token) {
  const absl::Status malformed = absl::UnauthenticatedError("malformed token");
  if (!absl::ConsumePrefix(&token, kTokenPrefix)) return malformed;
  size_t split = token.rfind('_');
  if (split == absl::string_view::npos) return malformed;
  absl::string_view tenant = token.substr(0, split);
  absl::string_view secret = token.substr(split + 1);
  if (!IsSha256Hex(secret) || !ValidateTenantName(tenant).ok()) return malformed;
  return std::string(tenant);
}

std::array<uint8_t, 32> TokenHash(absl::string_view token) { return Sha256(token); }

bool HashesEqual(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kiln::scheduler
