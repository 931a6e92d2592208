// Tenant API tokens (what `kiln --token` / KILN_TOKEN carry on every control
// RPC) and the randomness behind them. The store keeps only a token's SHA-256.
//
// Format: "kiln_" + tenant + "_" + 64 lowercase hex digits (32 random bytes),
// e.g. "kiln_default_3f9c...". The tenant name in clear lets Authenticate find
// the one stored hash to compare, in constant time, without an index from
// hashes to tenants; tenant names hold no '_', so the split is unambiguous.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln::scheduler {

inline constexpr absl::string_view kTokenPrefix = "kiln_";

// `n` bytes from OpenSSL's CSPRNG. Internal if it fails (no entropy source).
absl::StatusOr<std::string> SecureRandomBytes(size_t n);

// A fresh token for `tenant` (which the caller has validated).
absl::StatusOr<std::string> NewToken(absl::string_view tenant);

// The tenant a well-formed token names. Unauthenticated for anything that is
// not "kiln_<tenant>_<64 hex>" with a valid tenant name. Says nothing about
// whether the token is right: compare TokenHash with the stored hash for that.
absl::StatusOr<std::string> TokenTenant(absl::string_view token);

// SHA-256 of the whole token: what the store keeps.
std::array<uint8_t, 32> TokenHash(absl::string_view token);

// Constant-time equality of two stored/computed hashes (CRYPTO_memcmp); false
// when the sizes differ.
bool HashesEqual(absl::string_view a, absl::string_view b);

}  // namespace kiln::scheduler
