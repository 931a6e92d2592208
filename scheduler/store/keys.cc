// Key encodings (keys.h).
#include "scheduler/store/keys.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::scheduler::internal {
namespace {

constexpr char kSep = '\0';
constexpr absl::string_view kSepView("\0", 1);

// Splits `key` into exactly `n` NUL-separated parts where the last part is a
// fixed 8-byte version (which may itself contain NUL bytes) if `versioned`.
std::optional<std::vector<absl::string_view>> Split(absl::string_view key, size_t n,
                                                    bool versioned) {
  absl::string_view version;
  if (versioned) {
    if (key.size() < 9 || key[key.size() - 9] != kSep) return std::nullopt;
    version = key.substr(key.size() - 8);
    key = key.substr(0, key.size() - 9);
    --n;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(key, kSep);
  if (parts.size() != n) return std::nullopt;
  for (absl::string_view part : parts) {
    if (part.empty()) return std::nullopt;
  }
  if (versioned) parts.push_back(version);
  return parts;
}

}  // namespace

std::string EncodeVersion(uint64_t version) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(version & 0xff);
    version >>= 8;
  }
  return out;
}

std::optional<uint64_t> DecodeVersion(absl::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t version = 0;
  for (char c : bytes) version = (version << 8) | static_cast<uint8_t>(c);
  return version;
}

std::string TenantKey(absl::string_view tenant) { return std::string(tenant); }

std::string FunctionKey(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat(tenant, kSepView, name);
}

std::string FunctionPrefix(absl::string_view tenant) { return absl::StrCat(tenant, kSepView); }

std::string VersionKey(absl::string_view tenant, absl::string_view name, uint64_t version) {
  return absl::StrCat(tenant, kSepView, name, kSepView, EncodeVersion(version));
}

std::string VersionPrefix(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat(tenant, kSepView, name, kSepView);
}

std::string BundleKey(absl::string_view sha256) { return std::string(sha256); }

std::string SnapshotKey(absl::string_view sha256, absl::string_view fingerprint) {
  return absl::StrCat(sha256, kSepView, fingerprint);
}

std::string SecretKey(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat(tenant, kSepView, name);
}

std::string SecretPrefix(absl::string_view tenant) { return absl::StrCat(tenant, kSepView); }

std::string RefKey(absl::string_view sha256, absl::string_view fingerprint,
                   absl::string_view tenant, absl::string_view name, uint64_t version) {
  return absl::StrCat(sha256, kSepView, fingerprint, kSepView, tenant, kSepView, name, kSepView,
                      EncodeVersion(version));
}

std::string RefPrefix(absl::string_view sha256) { return absl::StrCat(sha256, kSepView); }

std::string RefPrefix(absl::string_view sha256, absl::string_view fingerprint) {
  return absl::StrCat(sha256, kSepView, fingerprint, kSepView);
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return end;
}

std::optional<FunctionKeyParts> ParseFunctionKey(absl::string_view key) {
  auto parts = Split(key, 2, /*versioned=*/false);
  if (!parts) return std::nullopt;
  return FunctionKeyParts{std::string((*parts)[0]), std::string((*parts)[1])};
}

std::optional<VersionKeyParts> ParseVersionKey(absl::string_view key) {
  auto parts = Split(key, 3, /*versioned=*/true);
  if (!parts) return std::nullopt;
  return VersionKeyParts{std::string((*parts)[0]), std::string((*parts)[1]),
                         *DecodeVersion((*parts)[2])};
}

std::optional<SnapshotKeyParts> ParseSnapshotKey(absl::string_view key) {
  auto parts = Split(key, 2, /*versioned=*/false);
  if (!parts) return std::nullopt;
  return SnapshotKeyParts{std::string((*parts)[0]), std::string((*parts)[1])};
}

std::optional<RefKeyParts> ParseRefKey(absl::string_view key) {
  auto parts = Split(key, 5, /*versioned=*/true);
  if (!parts) return std::nullopt;
  return RefKeyParts{std::string((*parts)[0]), std::string((*parts)[1]), std::string((*parts)[2]),
                     std::string((*parts)[3]), *DecodeVersion((*parts)[4])};
}

}  // namespace kiln::scheduler::internal
