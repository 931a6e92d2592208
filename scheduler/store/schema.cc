// Column family names and the built-in schema migrations (schema.h).
#include "scheduler/store/schema.h"

#include <cstring>

#include "common/status_macros.h"
#include "scheduler/store/keys.h"
#include "scheduler/store/store_records.pb.h"
#include "scheduler/store/token.h"

namespace kiln::scheduler {
namespace {

// 0 -> 1: a fresh data dir gets its cluster settings.
absl::Status InitializeClusterSettings(MigrationContext& context) {
  absl::StatusOr<std::string> existing =
      context.Get(ColumnFamily::kMeta, internal::kClusterSettingsKey);
  if (existing.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(existing.status())) return existing.status();
  KILN_ASSIGN_OR_RETURN(std::string seed, SecureRandomBytes(sizeof(uint64_t)));
  records::ClusterSettings settings;
  uint64_t hash_seed = 0;
  std::memcpy(&hash_seed, seed.data(), sizeof(hash_seed));
  settings.set_hash_seed(hash_seed);
  settings.set_created_ms(absl::ToUnixMillis(context.Now()));
  context.Put(ColumnFamily::kMeta, internal::kClusterSettingsKey, settings.SerializeAsString());
  return absl::OkStatus();
}

}  // namespace

absl::string_view ColumnFamilyName(ColumnFamily cf) {
  switch (cf) {
    case ColumnFamily::kMeta:
      return "meta";
    case ColumnFamily::kTenants:
      return "tenants";
    case ColumnFamily::kFunctions:
      return "functions";
    case ColumnFamily::kVersions:
      return "versions";
    case ColumnFamily::kBundles:
      return "bundles";
    case ColumnFamily::kSnapshots:
      return "snapshots";
    case ColumnFamily::kSecrets:
      return "secrets";
    case ColumnFamily::kRefs:
      return "refs";
  }
  return "unknown";
}

std::vector<Migration> BuiltinMigrations() {
  return {
      {.from = 0,
       .description = "initialise cluster settings (hash seed, creation time)",
       .apply = InitializeClusterSettings},
  };
}

}  // namespace kiln::scheduler
