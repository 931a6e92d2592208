// The store's schema version and the migrations between versions. On open,
// RocksDbStore reads meta/"schema_version" (absent = 0): newer than this code
// knows is FailedPrecondition; older is brought up to date one registered step
// at a time, each step and its version bump in one synced WriteBatch.
//
// Adding a migration: bump kSchemaVersion, append a Migration whose `from` is
// the old version to BuiltinMigrations() (schema.cc), and test it in
// schema_test.cc by opening a data dir written at the old version.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kiln::scheduler {

// The schema this code reads and writes.
//   0: an empty data dir (nothing written yet).
//   1: column families as in rocksdb_store.h, cluster settings in meta.
inline constexpr uint32_t kSchemaVersion = 1;

// RocksDbStore's column families. Every one exists from the first open
// (create_missing_column_families); a migration never has to create one.
enum class ColumnFamily {
  kMeta,
  kTenants,
  kFunctions,
  kVersions,
  kBundles,
  kSnapshots,
  kSecrets,
  kRefs,
};
inline constexpr std::array<ColumnFamily, 8> kAllColumnFamilies = {
    ColumnFamily::kMeta,     ColumnFamily::kTenants, ColumnFamily::kFunctions,
    ColumnFamily::kVersions, ColumnFamily::kBundles, ColumnFamily::kSnapshots,
    ColumnFamily::kSecrets,  ColumnFamily::kRefs,
};

// The RocksDB name of a column family: "meta", "tenants", ...
absl::string_view ColumnFamilyName(ColumnFamily cf);

// What one migration step sees: reads of the data as it was before the step,
// and writes that are buffered and committed together with the new schema
// version (all or nothing). Implemented by RocksDbStore; borrowed for the
// duration of the step.
class MigrationContext {
 public:
  virtual ~MigrationContext() = default;

  // The value under `key`; NotFound when absent. Does not see this step's writes.
  virtual absl::StatusOr<std::string> Get(ColumnFamily cf, absl::string_view key) = 0;

  // Calls `fn` for every entry of `cf` in key order, stopping at its first
  // error. Does not see this step's writes.
  virtual absl::Status ForEach(
      ColumnFamily cf,
      absl::FunctionRef<absl::Status(absl::string_view key, absl::string_view value)> fn) = 0;

  virtual void Put(ColumnFamily cf, absl::string_view key, absl::string_view value) = 0;
  virtual void Delete(ColumnFamily cf, absl::string_view key) = 0;

  // The store's clock.
  virtual absl::Time Now() = 0;
};

// One step: turns a data dir at schema `from` into one at `from + 1`.
struct Migration {
  uint32_t from = 0;
  std::string description;
  std::function<absl::Status(MigrationContext&)> apply;
};

// The steps this code ships, one per version below kSchemaVersion:
//   0 -> 1  initialise: cluster settings (64-bit random hash seed, creation
//           time) in meta/"cluster", unless already there.
std::vector<Migration> BuiltinMigrations();

}  // namespace kiln::scheduler
