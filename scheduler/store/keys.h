// Key encodings of RocksDbStore's column families (the layout table is in
// rocksdb_store.h). Components are joined with a NUL byte, which no tenant,
// function, secret name, bundle hash or runtime fingerprint may contain, so a
// prefix ending in NUL never matches a longer name ("a\0" is not a prefix of
// "ab\0..."). Version numbers are 8 bytes big-endian, so byte order is numeric
// order. Used only by rocksdb_store.cc and its tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace kiln::scheduler::internal {

// meta
inline constexpr absl::string_view kSchemaVersionKey = "schema_version";
inline constexpr absl::string_view kClusterSettingsKey = "cluster";

// 8 bytes, most significant first.
std::string EncodeVersion(uint64_t version);
std::optional<uint64_t> DecodeVersion(absl::string_view bytes);

// tenants: <tenant>
std::string TenantKey(absl::string_view tenant);

// functions: <tenant>\0<name>; FunctionPrefix(tenant) = <tenant>\0.
std::string FunctionKey(absl::string_view tenant, absl::string_view name);
std::string FunctionPrefix(absl::string_view tenant);

// versions: <tenant>\0<name>\0<version BE8>; VersionPrefix = <tenant>\0<name>\0.
std::string VersionKey(absl::string_view tenant, absl::string_view name, uint64_t version);
std::string VersionPrefix(absl::string_view tenant, absl::string_view name);

// bundles: <sha256 hex>
std::string BundleKey(absl::string_view sha256);

// snapshots: <sha256 hex>\0<runtime fingerprint>
std::string SnapshotKey(absl::string_view sha256, absl::string_view fingerprint);

// secrets: <tenant>\0<secret name>; SecretPrefix(tenant) = <tenant>\0.
std::string SecretKey(absl::string_view tenant, absl::string_view name);
std::string SecretPrefix(absl::string_view tenant);

// refs: <sha256 hex>\0<fingerprint>\0<tenant>\0<name>\0<version BE8>, one per
// version: which versions use a bundle / snapshot.
std::string RefKey(absl::string_view sha256, absl::string_view fingerprint,
                   absl::string_view tenant, absl::string_view name, uint64_t version);
std::string RefPrefix(absl::string_view sha256);                                 // <sha>\0
std::string RefPrefix(absl::string_view sha256, absl::string_view fingerprint);  // <sha>\0<fp>\0

// The smallest key greater than every key starting with `prefix` (an
// iterate_upper_bound). `prefix` must be non-empty and not end in 0xff; every
// prefix above ends in NUL.
std::string PrefixEnd(absl::string_view prefix);

// Decoders: nullopt when `key` is not of that shape.
struct FunctionKeyParts {
  std::string tenant;
  std::string name;
};
struct VersionKeyParts {
  std::string tenant;
  std::string name;
  uint64_t version = 0;
};
struct SnapshotKeyParts {
  std::string sha256;
  std::string fingerprint;
};
struct RefKeyParts {
  std::string sha256;
  std::string fingerprint;
  std::string tenant;
  std::string name;
  uint64_t version = 0;
};
std::optional<FunctionKeyParts> ParseFunctionKey(absl::string_view key);  // also secrets
std::optional<VersionKeyParts> ParseVersionKey(absl::string_view key);
std::optional<SnapshotKeyParts> ParseSnapshotKey(absl::string_view key);
std::optional<RefKeyParts> ParseRefKey(absl::string_view key);

}  // namespace kiln::scheduler::internal
