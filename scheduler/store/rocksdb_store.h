// RocksDbStore: the Store (store.h) on an embedded RocksDB in the scheduler's
// data dir (`kiln up --data-dir`). The only Kiln code that includes RocksDB;
// this header does not, so its users do not either.
//
// Column families and key layouts (keys.h encodes them; "\0" is one NUL byte,
// <v> is a version as 8 bytes big-endian, so keys sort numerically):
//
//   meta       "schema_version"                 -> decimal ASCII, e.g. "1"
//              "cluster"                        -> records.ClusterSettings
//   tenants    <tenant>                         -> records.TenantRecord (token SHA-256)
//   functions  <tenant>\0<name>                 -> records.FunctionRecord
//   versions   <tenant>\0<name>\0<v>            -> records.VersionRecord (immutable)
//   bundles    <sha256 hex>                     -> canonical kiln.v1.Bundle bytes (digest.h)
//   snapshots  <sha256 hex>\0<fingerprint>      -> SHA-256 of the blob (32 bytes) + blob
//   secrets    <tenant>\0<secret name>          -> the value
//   refs       <sha256 hex>\0<fingerprint>\0<tenant>\0<name>\0<v> -> empty
//
// (records.* are in store_records.proto.) `refs` indexes which versions use a
// bundle / snapshot so DeleteFunction can collect garbage without a scan.
// Invariants every committed batch keeps, and VerifyIntegrity() checks:
//   - a version record exists iff its refs entry exists, its bundle and
//     snapshot exist, and its function's record is live with
//     next_version > the version;
//   - a live function's active version exists;
//   - every bundle and snapshot is used by at least one version;
//   - a bundle's bytes hash to its key; a snapshot blob hashes to its prefix.
//
// Durability: every write is one WriteBatch with WriteOptions.sync = true, so
// a call that returned OK survives a crash or power loss, and a crash leaves
// each batch wholly applied or not at all. RocksDB runs with paranoid_checks,
// block checksums (XXH3) verified on every read, WAL on, point-in-time WAL
// recovery, and WAL files tracked in the MANIFEST.
//
// Thread-safe. Writers serialize on a mutex (each write is read-modify-write
// of the function record); readers do not take it and read from RocksDB
// snapshots where they read more than one key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "scheduler/store/schema.h"
#include "scheduler/store/store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace kiln::scheduler {

namespace internal {
class RocksDbMigrationContext;
}  // namespace internal

// How to open a RocksDbStore. Only `path` is required:
//   KILN_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbStore> store,
//                         RocksDbStore::Open({.path = data_dir}));
//   KILN_ASSIGN_OR_RETURN(std::optional<std::string> token, store->EnsureDefaultTenant());
//   if (token) KILN_RETURN_IF_ERROR(WriteTokenFile(*token));  // first start only
struct RocksDbStoreOptions {
  // The data dir; created if missing.
  std::string path;

  // Source of created/updated times.
  std::function<absl::Time()> clock = [] { return absl::Now(); };

  // Shared by all column families for data, index and filter blocks. Bundle
  // and snapshot reads bypass it (they are large and read rarely).
  size_t block_cache_bytes = 32 << 20;

  // The schema to bring the data dir to, and the steps to get there. Replaced
  // only by the tests of the migration mechanism.
  uint32_t schema_version = kSchemaVersion;
  std::vector<Migration> migrations = BuiltinMigrations();
};

// The Store on RocksDB. Owned by the scheduler's main (one per data dir and
// process: a second Open of the same dir fails while this one is open); shared
// by reference with the components that use it, from any thread.
class RocksDbStore final : public Store {
 public:
  // Opens (or creates) the store in `options.path`, checks the schema version
  // and runs pending migrations. Errors:
  //   InvalidArgument     empty path;
  //   FailedPrecondition  the data dir was written by a newer Kiln (schema
  //                       version above options.schema_version), or is locked
  //                       by another open store (this or another process);
  //   Internal            no migration step registered for a version;
  //   DataLoss            RocksDB found corruption, or meta is unreadable;
  //   Unavailable         an I/O error.
  // A failing migration step leaves the data dir at the version before it.
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(RocksDbStoreOptions options);

  // Closes RocksDB. Everything acknowledged is already durable.
  ~RocksDbStore() override;

  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  const ClusterSettings& cluster_settings() const override { return cluster_settings_; }

  absl::StatusOr<std::string> CreateTenant(absl::string_view name) override;
  absl::StatusOr<std::optional<std::string>> EnsureDefaultTenant() override;
  absl::StatusOr<std::string> RotateToken(absl::string_view name) override;
  absl::StatusOr<std::string> Authenticate(absl::string_view token) const override;
  absl::StatusOr<std::vector<TenantRecord>> ListTenants() const override;

  absl::StatusOr<VersionRecord> CommitDeploy(const DeployCommit& deploy) override;
  absl::StatusOr<FunctionRecord> Rollback(absl::string_view tenant, absl::string_view name,
                                          uint64_t to_version) override;
  absl::Status DeleteFunction(absl::string_view tenant, absl::string_view name) override;
  absl::StatusOr<FunctionRecord> GetFunction(absl::string_view tenant,
                                             absl::string_view name) const override;
  absl::StatusOr<std::vector<FunctionRecord>> ListFunctions(
      absl::string_view tenant) const override;
  absl::StatusOr<VersionRecord> GetVersion(absl::string_view tenant, absl::string_view name,
                                           uint64_t version) const override;
  absl::StatusOr<std::vector<VersionRecord>> ListVersions(absl::string_view tenant,
                                                          absl::string_view name) const override;
  absl::StatusOr<kiln::v1::Bundle> GetBundle(absl::string_view sha256) const override;
  absl::StatusOr<std::string> GetSnapshot(absl::string_view bundle_sha256,
                                          absl::string_view runtime_fingerprint) const override;
  absl::StatusOr<bool> HasSnapshot(absl::string_view bundle_sha256,
                                   absl::string_view runtime_fingerprint) const override;
  absl::Status ForEachFunction(
      absl::FunctionRef<absl::Status(const FunctionRecord& function, const VersionRecord& active)>
          fn) const override;

  absl::Status SetSecret(absl::string_view tenant, absl::string_view name,
                         absl::string_view value) override;
  absl::Status DeleteSecret(absl::string_view tenant, absl::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListSecretNames(absl::string_view tenant) const override;
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ResolveSecrets(
      absl::string_view tenant, const kiln::v1::FunctionConfig& config) const override;

  // Reads every record from one consistent view and checks the invariants in
  // the file comment, rehashing every bundle and snapshot. OK, or DataLoss
  // describing the first violation. Reads everything: for startup checks,
  // `kiln fsck`-style tools and tests, not for a request path.
  absl::Status VerifyIntegrity() const;

  // The schema version of the open data dir (options.schema_version after Open).
  uint32_t schema_version() const { return schema_version_; }

 private:
  friend class internal::RocksDbMigrationContext;

  RocksDbStore(RocksDbStoreOptions options, rocksdb::DB* db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles);

  absl::Status Migrate();
  absl::Status LoadClusterSettings();

  rocksdb::ColumnFamilyHandle* Handle(ColumnFamily cf) const;
  int64_t NowMs() const;

  // The value under `key`, nullopt if absent. `snapshot` may be null (latest).
  absl::StatusOr<std::optional<std::string>> Read(ColumnFamily cf, absl::string_view key,
                                                  const rocksdb::Snapshot* snapshot = nullptr,
                                                  bool fill_cache = true) const;
  // Calls `fn` for each entry whose key starts with `prefix` ("" = all), in
  // key order; stops at fn's first error.
  absl::Status Scan(
      ColumnFamily cf, absl::string_view prefix, const rocksdb::Snapshot* snapshot,
      absl::FunctionRef<absl::Status(absl::string_view key, absl::string_view value)> fn) const;
  absl::Status WriteSynced(rocksdb::WriteBatch& batch, absl::string_view what);

  // Helpers that read a record and parse it; DataLoss when it does not parse.
  absl::StatusOr<std::optional<FunctionRecord>> ReadFunction(
      absl::string_view tenant, absl::string_view name,
      const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::StatusOr<std::optional<VersionRecord>> ReadVersion(
      absl::string_view tenant, absl::string_view name, uint64_t version,
      const rocksdb::Snapshot* snapshot = nullptr) const;
  absl::StatusOr<bool> TenantExists(absl::string_view tenant) const;
  // Whether any ref under `prefix` belongs to a function other than tenant/name.
  absl::StatusOr<bool> UsedElsewhere(absl::string_view prefix, absl::string_view tenant,
                                     absl::string_view name) const;
  // Whether the stored bundle / snapshot under the key is present and intact.
  absl::StatusOr<bool> IntactBundleStored(absl::string_view sha256) const;
  absl::StatusOr<bool> IntactSnapshotStored(absl::string_view sha256, absl::string_view fingerprint,
                                            absl::string_view blob_sha256) const;

  absl::StatusOr<std::string> CreateTenantLocked(absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const RocksDbStoreOptions options_;
  rocksdb::DB* const db_;  // owned; closed and deleted by the destructor
  // Indexed by ColumnFamily, then any column family this code does not know
  // (e.g. "default", or one a newer Kiln created), kept open so RocksDB agrees
  // to open the data dir. Owned.
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  uint32_t schema_version_ = 0;
  ClusterSettings cluster_settings_;

  // Serializes writers. Guards no memory: RocksDB is the state; holding it
  // makes each write's read-modify-write of records atomic.
  mutable absl::Mutex write_mu_;
};

}  // namespace kiln::scheduler
