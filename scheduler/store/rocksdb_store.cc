// RocksDbStore (rocksdb_store.h): options, open and migration, the deploy
// commit, rollback, delete with bundle/snapshot GC, tenants, secrets, reads.
#include "scheduler/store/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/keys.h"
#include "scheduler/store/store_records.pb.h"
#include "scheduler/store/token.h"
#include "scheduler/store/validate.h"

namespace kiln::scheduler {
namespace {

using internal::BundleKey;
using internal::FunctionKey;
using internal::FunctionPrefix;
using internal::PrefixEnd;
using internal::RefKey;
using internal::RefPrefix;
using internal::SecretKey;
using internal::SecretPrefix;
using internal::SnapshotKey;
using internal::TenantKey;
using internal::VersionKey;
using internal::VersionPrefix;

constexpr size_t kMaxFingerprintBytes = 256;
constexpr size_t kHashBytes = 32;

absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// `s` printable in a message (keys hold NUL separators).
std::string Printable(absl::string_view s) { return absl::CEscape(s); }

// RocksDB status -> absl::Status, with `what` (the operation) in front.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsShutdownInProgress()) {
    return absl::UnavailableError(message);
  }
  if (s.IsAborted()) return absl::AbortedError(message);
  return absl::InternalError(message);
}

rocksdb::ReadOptions Reads(const rocksdb::Snapshot* snapshot = nullptr, bool fill_cache = true) {
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  read.snapshot = snapshot;
  read.fill_cache = fill_cache;
  return read;
}

// A RocksDB snapshot released when this goes out of scope.
class ScopedSnapshot {
 public:
  explicit ScopedSnapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~ScopedSnapshot() { db_->ReleaseSnapshot(snapshot_); }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// Options for a small machine: two background jobs, modest memtables, one
// shared block cache, bloom filters for point lookups, LZ4 when available.
rocksdb::DBOptions MakeDbOptions() {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.paranoid_checks = true;
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db.track_and_verify_wals_in_manifest = true;
  db.max_background_jobs = 2;
  db.max_open_files = 512;
  db.db_write_buffer_size = 64 << 20;  // all memtables together
  db.max_total_wal_size = 64 << 20;    // rarely written families cannot pin old WALs
  db.keep_log_file_num = 4;
  db.max_log_file_size = 8 << 20;
  db.manifest_preallocation_size = 1 << 20;
  return db;
}

rocksdb::ColumnFamilyOptions MakeCfOptions(ColumnFamily cf,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.checksum = rocksdb::kXXH3;
  table.format_version = 5;
  table.block_cache = cache;
  table.block_size = 16 << 10;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  bool large_values = cf == ColumnFamily::kBundles || cf == ColumnFamily::kSnapshots;
  options.write_buffer_size = large_values ? 16 << 20 : 4 << 20;
  options.max_write_buffer_number = 2;
  options.target_file_size_base = 32 << 20;
  options.max_bytes_for_level_base = 128 << 20;
  options.level_compaction_dynamic_level_bytes = true;
  // Re-read every SST a flush or compaction writes before it is used.
  options.paranoid_file_checks = true;
  std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  options.compression =
      std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()
          ? rocksdb::kLZ4Compression
          : rocksdb::kNoCompression;
  return options;
}

std::string FunctionName(absl::string_view tenant, absl::string_view name) {
  return absl::StrCat("function \"", tenant, "/", name, "\"");
}

absl::Status ValidateFingerprint(absl::string_view fingerprint) {
  if (fingerprint.empty()) return absl::InvalidArgumentError("runtime fingerprint is empty");
  if (fingerprint.size() > kMaxFingerprintBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime fingerprint is longer than ", kMaxFingerprintBytes, " bytes"));
  }
  if (fingerprint.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("runtime fingerprint contains a NUL byte");
  }
  return absl::OkStatus();
}

absl::Status ValidateBundleSha(absl::string_view sha256) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Printable(sha256.substr(0, 80)),
                     "\" is not a bundle hash (64 lowercase hex digits)"));
  }
  return absl::OkStatus();
}

std::string RawHash(absl::string_view data) {
  std::array<uint8_t, 32> hash = Sha256(data);
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

// Checks a stored snapshot value (hash + blob) and returns the blob.
absl::StatusOr<absl::string_view> SnapshotBlob(absl::string_view stored, absl::string_view sha256,
                                               absl::string_view fingerprint) {
  if (stored.size() <= kHashBytes ||
      !HashesEqual(stored.substr(0, kHashBytes), RawHash(stored.substr(kHashBytes)))) {
    return absl::DataLossError(
        absl::StrCat("snapshot of bundle ", sha256, " for runtime \"", Printable(fingerprint),
                     "\" is corrupt: its bytes do not match their stored SHA-256"));
  }
  return stored.substr(kHashBytes);
}

absl::StatusOr<FunctionRecord> ToFunction(absl::string_view tenant, absl::string_view name,
                                          absl::string_view bytes) {
  records::FunctionRecord record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrCat("record of ", FunctionName(tenant, name), " does not parse"));
  }
  FunctionRecord out;
  out.tenant = std::string(tenant);
  out.name = std::string(name);
  out.active_version = record.active_version();
  out.next_version = record.next_version();
  out.created_ms = record.created_ms();
  out.updated_ms = record.updated_ms();
  return out;
}

bool IsDeleted(absl::string_view bytes) {
  records::FunctionRecord record;
  return record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) && record.deleted();
}

absl::StatusOr<VersionRecord> ToVersion(absl::string_view tenant, absl::string_view name,
                                        uint64_t version, absl::string_view bytes) {
  records::VersionRecord record;
  VersionRecord out;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !out.config.ParseFromString(record.config())) {
    return absl::DataLossError(
        absl::StrCat("version ", version, " of ", FunctionName(tenant, name), " does not parse"));
  }
  out.tenant = std::string(tenant);
  out.name = std::string(name);
  out.version = version;
  out.bundle_sha256 = record.bundle_sha256();
  out.runtime_fingerprint = record.runtime_fingerprint();
  out.created_ms = record.created_ms();
  return out;
}

}  // namespace

// ---- migration ---------------------------------------------------------------

namespace internal {

// MigrationContext over the store: reads go to RocksDB, writes to one batch.
class RocksDbMigrationContext final : public MigrationContext {
 public:
  RocksDbMigrationContext(const RocksDbStore& store, rocksdb::WriteBatch& batch)
      : store_(store), batch_(batch) {}

  absl::StatusOr<std::string> Get(ColumnFamily cf, absl::string_view key) override {
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, store_.Read(cf, key));
    if (!value) {
      return absl::NotFoundError(
          absl::StrCat(ColumnFamilyName(cf), "/", Printable(key), " is absent"));
    }
    return *std::move(value);
  }

  absl::Status ForEach(
      ColumnFamily cf,
      absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> fn) override {
    return store_.Scan(cf, "", nullptr, fn);
  }

  void Put(ColumnFamily cf, absl::string_view key, absl::string_view value) override {
    batch_.Put(store_.Handle(cf), ToSlice(key), ToSlice(value));
  }

  void Delete(ColumnFamily cf, absl::string_view key) override {
    batch_.Delete(store_.Handle(cf), ToSlice(key));
  }

  absl::Time Now() override { return store_.options_.clock(); }

 private:
  const RocksDbStore& store_;
  rocksdb::WriteBatch& batch_;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(RocksDbStoreOptions options) {
  if (options.path.empty()) return absl::InvalidArgumentError("store path is empty");
  rocksdb::DBOptions db_options = MakeDbOptions();
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);

  // Open every column family the data dir has, known or not: RocksDB refuses
  // to open a DB without all of them, and a newer Kiln may have added some.
  // The schema check below then gives the useful error.
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    existing.clear();  // no DB here yet
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  absl::flat_hash_set<std::string> known;
  for (ColumnFamily cf : kAllColumnFamilies) {
    descriptors.emplace_back(std::string(ColumnFamilyName(cf)), MakeCfOptions(cf, cache));
    known.insert(std::string(ColumnFamilyName(cf)));
  }
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           MakeCfOptions(ColumnFamily::kMeta, cache));
  known.insert(rocksdb::kDefaultColumnFamilyName);
  for (const std::string& name : existing) {
    if (!known.contains(name)) {
      descriptors.emplace_back(name, MakeCfOptions(ColumnFamily::kMeta, cache));
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!opened.ok()) {
    std::string text = opened.ToString();
    if (opened.IsIOError() && text.find("LOCK") != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat("data dir ", options.path, " is in use by another open store: ", text));
    }
    return FromRocks(opened, absl::StrCat("opening RocksDB in ", options.path));
  }
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(std::move(options), db, std::move(handles)));
  KILN_RETURN_IF_ERROR(store->Migrate());
  KILN_RETURN_IF_ERROR(store->LoadClusterSettings());
  return store;
}

RocksDbStore::RocksDbStore(RocksDbStoreOptions options, rocksdb::DB* db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(std::move(options)), db_(db), handles_(std::move(handles)) {}

RocksDbStore::~RocksDbStore() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  // Every write was synced; Close() only stops background work, and an error
  // from it loses nothing acknowledged.
  db_->Close().PermitUncheckedError();
  delete db_;
}

absl::Status RocksDbStore::Migrate() {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                        Read(ColumnFamily::kMeta, internal::kSchemaVersionKey));
  uint32_t version = 0;
  if (stored && !absl::SimpleAtoi(*stored, &version)) {
    return absl::DataLossError(absl::StrCat(
        "data dir ", options_.path, ": unreadable schema version \"", Printable(*stored), "\""));
  }
  if (version > options_.schema_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", options_.path, " has schema version ", version,
        ", newer than this Kiln understands (", options_.schema_version,
        "): it was written by a newer Kiln. Run that version, or use another data dir."));
  }
  while (version < options_.schema_version) {
    auto step = std::find_if(options_.migrations.begin(), options_.migrations.end(),
                             [&](const Migration& m) { return m.from == version; });
    if (step == options_.migrations.end()) {
      return absl::InternalError(
          absl::StrCat("no migration registered from schema version ", version));
    }
    rocksdb::WriteBatch batch;
    internal::RocksDbMigrationContext context(*this, batch);
    absl::Status applied = step->apply(context);
    if (!applied.ok()) {
      return absl::Status(applied.code(),
                          absl::StrCat("schema migration ", version, " -> ", version + 1, " (",
                                       step->description, "): ", applied.message()));
    }
    batch.Put(Handle(ColumnFamily::kMeta), ToSlice(internal::kSchemaVersionKey),
              absl::StrCat(version + 1));
    KILN_RETURN_IF_ERROR(
        WriteSynced(batch, absl::StrCat("schema migration ", version, " -> ", version + 1)));
    ++version;
  }
  schema_version_ = version;
  return absl::OkStatus();
}

absl::Status RocksDbStore::LoadClusterSettings() {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kMeta, internal::kClusterSettingsKey));
  records::ClusterSettings settings;
  if (!bytes || !settings.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("data dir ", options_.path, ": cluster settings missing or unreadable"));
  }
  cluster_settings_.hash_seed = settings.hash_seed();
  cluster_settings_.created_ms = settings.created_ms();
  return absl::OkStatus();
}

// ---- helpers -----------------------------------------------------------------

rocksdb::ColumnFamilyHandle* RocksDbStore::Handle(ColumnFamily cf) const {
  return handles_[static_cast<size_t>(cf)];
}

int64_t RocksDbStore::NowMs() const { return absl::ToUnixMillis(options_.clock()); }

absl::StatusOr<std::optional<std::string>> RocksDbStore::Read(ColumnFamily cf,
                                                              absl::string_view key,
                                                              const rocksdb::Snapshot* snapshot,
                                                              bool fill_cache) const {
  std::string value;
  rocksdb::Status s = db_->Get(Reads(snapshot, fill_cache), Handle(cf), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  KILN_RETURN_IF_ERROR(
      FromRocks(s, absl::StrCat("reading ", ColumnFamilyName(cf), "/", Printable(key))));
  return value;
}

absl::Status RocksDbStore::Scan(
    ColumnFamily cf, absl::string_view prefix, const rocksdb::Snapshot* snapshot,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> fn) const {
  rocksdb::ReadOptions read = Reads(snapshot, /*fill_cache=*/false);
  std::string end;
  rocksdb::Slice end_slice;
  if (!prefix.empty()) {
    end = PrefixEnd(prefix);
    end_slice = ToSlice(end);
    read.iterate_upper_bound = &end_slice;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, Handle(cf)));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    KILN_RETURN_IF_ERROR(fn(View(it->key()), View(it->value())));
  }
  return FromRocks(it->status(), absl::StrCat("scanning ", ColumnFamilyName(cf)));
}

absl::Status RocksDbStore::WriteSynced(rocksdb::WriteBatch& batch, absl::string_view what) {
  rocksdb::WriteOptions write;
  write.sync = true;
  return FromRocks(db_->Write(write, &batch), what);
}

absl::StatusOr<std::optional<FunctionRecord>> RocksDbStore::ReadFunction(
    absl::string_view tenant, absl::string_view name, const rocksdb::Snapshot* snapshot) const {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kFunctions, FunctionKey(tenant, name), snapshot));
  if (!bytes || IsDeleted(*bytes)) return std::nullopt;
  KILN_ASSIGN_OR_RETURN(FunctionRecord record, ToFunction(tenant, name, *bytes));
  return record;
}

absl::StatusOr<std::optional<VersionRecord>> RocksDbStore::ReadVersion(
    absl::string_view tenant, absl::string_view name, uint64_t version,
    const rocksdb::Snapshot* snapshot) const {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kVersions, VersionKey(tenant, name, version), snapshot));
  if (!bytes) return std::nullopt;
  KILN_ASSIGN_OR_RETURN(VersionRecord record, ToVersion(tenant, name, version, *bytes));
  return record;
}

absl::StatusOr<bool> RocksDbStore::TenantExists(absl::string_view tenant) const {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kTenants, TenantKey(tenant)));
  return bytes.has_value();
}

absl::StatusOr<bool> RocksDbStore::UsedElsewhere(absl::string_view prefix, absl::string_view tenant,
                                                 absl::string_view name) const {
  bool used = false;
  absl::Status scanned =
      Scan(ColumnFamily::kRefs, prefix, nullptr, [&](absl::string_view key, absl::string_view) {
        std::optional<internal::RefKeyParts> ref = internal::ParseRefKey(key);
        if (!ref) return absl::DataLossError(absl::StrCat("bad refs key ", Printable(key)));
        if (ref->tenant != tenant || ref->name != name) {
          used = true;
          return absl::CancelledError();  // found one: stop scanning
        }
        return absl::OkStatus();
      });
  if (used) return true;
  KILN_RETURN_IF_ERROR(scanned);
  return false;
}

absl::StatusOr<bool> RocksDbStore::IntactBundleStored(absl::string_view sha256) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(Reads(nullptr, /*fill_cache=*/false), Handle(ColumnFamily::kBundles),
                               ToSlice(BundleKey(sha256)), &value);
  if (s.IsNotFound() || s.IsCorruption()) return false;  // (re)write it
  KILN_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading bundle ", sha256)));
  return Sha256Hex(View(value)) == sha256;
}

absl::StatusOr<bool> RocksDbStore::IntactSnapshotStored(absl::string_view sha256,
                                                        absl::string_view fingerprint,
                                                        absl::string_view blob_sha256) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      db_->Get(Reads(nullptr, /*fill_cache=*/false), Handle(ColumnFamily::kSnapshots),
               ToSlice(SnapshotKey(sha256, fingerprint)), &value);
  if (s.IsNotFound() || s.IsCorruption()) return false;
  KILN_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading snapshot of bundle ", sha256)));
  absl::StatusOr<absl::string_view> blob = SnapshotBlob(View(value), sha256, fingerprint);
  // A different blob under the same key is a different build of the same
  // bundle by the same runtime; either serves. A corrupt one is replaced.
  return blob.ok();
}

// ---- tenants -----------------------------------------------------------------

absl::StatusOr<std::string> RocksDbStore::CreateTenantLocked(absl::string_view name) {
  KILN_ASSIGN_OR_RETURN(bool exists, TenantExists(name));
  if (exists) return absl::AlreadyExistsError(absl::StrCat("tenant \"", name, "\" exists"));
  KILN_ASSIGN_OR_RETURN(std::string token, NewToken(name));
  records::TenantRecord record;
  std::array<uint8_t, 32> hash = TokenHash(token);
  record.set_token_sha256(hash.data(), hash.size());
  record.set_created_ms(NowMs());
  record.set_token_created_ms(record.created_ms());
  rocksdb::WriteBatch batch;
  batch.Put(Handle(ColumnFamily::kTenants), TenantKey(name), record.SerializeAsString());
  KILN_RETURN_IF_ERROR(WriteSynced(batch, absl::StrCat("creating tenant ", name)));
  return token;
}

absl::StatusOr<std::string> RocksDbStore::CreateTenant(absl::string_view name) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(name));
  absl::MutexLock lock(&write_mu_);
  return CreateTenantLocked(name);
}

absl::StatusOr<std::optional<std::string>> RocksDbStore::EnsureDefaultTenant() {
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(bool exists, TenantExists(kDefaultTenant));
  if (exists) return std::nullopt;
  KILN_ASSIGN_OR_RETURN(std::string token, CreateTenantLocked(kDefaultTenant));
  return token;
}

absl::StatusOr<std::string> RocksDbStore::RotateToken(absl::string_view name) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(name));
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kTenants, TenantKey(name)));
  if (!bytes) return absl::NotFoundError(absl::StrCat("tenant \"", name, "\" does not exist"));
  records::TenantRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("record of tenant \"", name, "\" does not parse"));
  }
  KILN_ASSIGN_OR_RETURN(std::string token, NewToken(name));
  std::array<uint8_t, 32> hash = TokenHash(token);
  record.set_token_sha256(hash.data(), hash.size());
  record.set_token_created_ms(NowMs());
  rocksdb::WriteBatch batch;
  batch.Put(Handle(ColumnFamily::kTenants), TenantKey(name), record.SerializeAsString());
  KILN_RETURN_IF_ERROR(WriteSynced(batch, absl::StrCat("rotating the token of tenant ", name)));
  return token;
}

absl::StatusOr<std::string> RocksDbStore::Authenticate(absl::string_view token) const {
  KILN_ASSIGN_OR_RETURN(std::string tenant, TokenTenant(token));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kTenants, TenantKey(tenant)));
  records::TenantRecord record;
  if (bytes && !record.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("record of tenant \"", tenant, "\" does not parse"));
  }
  std::array<uint8_t, 32> hash = TokenHash(token);
  // An unknown tenant compares against an empty hash and fails like a wrong token.
  if (!HashesEqual(record.token_sha256(),
                   absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()))) {
    return absl::UnauthenticatedError("invalid token");
  }
  return tenant;
}

absl::StatusOr<std::vector<TenantRecord>> RocksDbStore::ListTenants() const {
  std::vector<TenantRecord> tenants;
  KILN_RETURN_IF_ERROR(Scan(
      ColumnFamily::kTenants, "", nullptr, [&](absl::string_view key, absl::string_view value) {
        records::TenantRecord record;
        if (!record.ParseFromArray(value.data(), value.size())) {
          return absl::DataLossError(
              absl::StrCat("record of tenant \"", Printable(key), "\" does not parse"));
        }
        tenants.push_back({std::string(key), record.created_ms()});
        return absl::OkStatus();
      }));
  return tenants;
}

// ---- deploy, rollback, delete ------------------------------------------------

absl::StatusOr<VersionRecord> RocksDbStore::CommitDeploy(const DeployCommit& deploy) {
  KILN_RETURN_IF_ERROR(ValidateDeploy(deploy.tenant, deploy.name, deploy.bundle, deploy.config));
  KILN_RETURN_IF_ERROR(ValidateFingerprint(deploy.runtime_fingerprint));
  if (deploy.snapshot.empty()) return absl::InvalidArgumentError("snapshot blob is empty");

  // Hash and encode outside the lock: this is the expensive part.
  const std::string bundle_bytes = CanonicalBundleBytes(deploy.bundle);
  const std::string sha = Sha256Hex(bundle_bytes);
  const std::string snapshot_hash = RawHash(deploy.snapshot);
  const std::string config_bytes = DeterministicBytes(deploy.config);

  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(bool tenant_exists, TenantExists(deploy.tenant));
  if (!tenant_exists) {
    return absl::NotFoundError(absl::StrCat("tenant \"", deploy.tenant, "\" does not exist"));
  }
  const int64_t now = NowMs();
  const std::string function_key = FunctionKey(deploy.tenant, deploy.name);
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> function_bytes,
                        Read(ColumnFamily::kFunctions, function_key));
  records::FunctionRecord function;
  if (function_bytes && !function.ParseFromString(*function_bytes)) {
    return absl::DataLossError(
        absl::StrCat("record of ", FunctionName(deploy.tenant, deploy.name), " does not parse"));
  }
  if (!function_bytes || function.deleted()) {
    function.set_deleted(false);
    function.set_created_ms(now);
  }
  const uint64_t version = std::max<uint64_t>(function.next_version(), 1);
  function.set_active_version(version);
  function.set_next_version(version + 1);
  function.set_updated_ms(now);

  records::VersionRecord record;
  record.set_bundle_sha256(sha);
  record.set_runtime_fingerprint(std::string(deploy.runtime_fingerprint));
  record.set_config(config_bytes);
  record.set_created_ms(now);

  rocksdb::WriteBatch batch;
  KILN_ASSIGN_OR_RETURN(bool bundle_stored, IntactBundleStored(sha));
  if (!bundle_stored) batch.Put(Handle(ColumnFamily::kBundles), BundleKey(sha), bundle_bytes);
  KILN_ASSIGN_OR_RETURN(bool snapshot_stored,
                        IntactSnapshotStored(sha, deploy.runtime_fingerprint, snapshot_hash));
  if (!snapshot_stored) {
    // Hash and blob as two slices: no copy of the blob.
    const std::string key = SnapshotKey(sha, deploy.runtime_fingerprint);
    rocksdb::Slice key_slice(key);
    rocksdb::Slice value_parts[] = {rocksdb::Slice(snapshot_hash), ToSlice(deploy.snapshot)};
    batch.Put(Handle(ColumnFamily::kSnapshots), rocksdb::SliceParts(&key_slice, 1),
              rocksdb::SliceParts(value_parts, 2));
  }
  batch.Put(Handle(ColumnFamily::kVersions), VersionKey(deploy.tenant, deploy.name, version),
            record.SerializeAsString());
  batch.Put(Handle(ColumnFamily::kRefs),
            RefKey(sha, deploy.runtime_fingerprint, deploy.tenant, deploy.name, version),
            rocksdb::Slice());
  batch.Put(Handle(ColumnFamily::kFunctions), function_key, function.SerializeAsString());
  KILN_RETURN_IF_ERROR(WriteSynced(batch, absl::StrCat("committing version ", version, " of ",
                                                       FunctionName(deploy.tenant, deploy.name))));

  VersionRecord out;
  out.tenant = std::string(deploy.tenant);
  out.name = std::string(deploy.name);
  out.version = version;
  out.bundle_sha256 = sha;
  out.runtime_fingerprint = std::string(deploy.runtime_fingerprint);
  out.config = deploy.config;
  out.created_ms = now;
  return out;
}

absl::StatusOr<FunctionRecord> RocksDbStore::Rollback(absl::string_view tenant,
                                                      absl::string_view name, uint64_t to_version) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(name));
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kFunctions, FunctionKey(tenant, name)));
  records::FunctionRecord function;
  if (bytes && !function.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("record of ", FunctionName(tenant, name), " does not parse"));
  }
  if (!bytes || function.deleted()) {
    return absl::NotFoundError(absl::StrCat(FunctionName(tenant, name), " does not exist"));
  }

  uint64_t target = to_version;
  if (to_version == 0) {
    // The newest version below the active one.
    const std::string prefix = VersionPrefix(tenant, name);
    const std::string end = PrefixEnd(prefix);
    rocksdb::Slice lower(prefix);
    rocksdb::ReadOptions read = Reads();
    read.iterate_lower_bound = &lower;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, Handle(ColumnFamily::kVersions)));
    it->SeekForPrev(VersionKey(tenant, name, function.active_version() - 1));
    KILN_RETURN_IF_ERROR(FromRocks(it->status(), "scanning versions"));
    std::optional<internal::VersionKeyParts> parts;
    if (it->Valid()) parts = internal::ParseVersionKey(View(it->key()));
    if (!parts || parts->version >= function.active_version() || function.active_version() <= 1) {
      return absl::FailedPreconditionError(
          absl::StrCat(FunctionName(tenant, name), ": version ", function.active_version(),
                       " is the oldest; there is no previous version to roll back to"));
    }
    target = parts->version;
  } else {
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> version,
                          Read(ColumnFamily::kVersions, VersionKey(tenant, name, to_version)));
    if (!version) {
      return absl::NotFoundError(
          absl::StrCat(FunctionName(tenant, name), " has no version ", to_version));
    }
  }

  if (target != function.active_version()) {
    function.set_active_version(target);
    function.set_updated_ms(NowMs());
    rocksdb::WriteBatch batch;
    batch.Put(Handle(ColumnFamily::kFunctions), FunctionKey(tenant, name),
              function.SerializeAsString());
    KILN_RETURN_IF_ERROR(WriteSynced(
        batch, absl::StrCat("rolling ", FunctionName(tenant, name), " back to ", target)));
  }
  return ToFunction(tenant, name, function.SerializeAsString());
}

absl::Status RocksDbStore::DeleteFunction(absl::string_view tenant, absl::string_view name) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(name));
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kFunctions, FunctionKey(tenant, name)));
  records::FunctionRecord function;
  if (bytes && !function.ParseFromString(*bytes)) {
    return absl::DataLossError(
        absl::StrCat("record of ", FunctionName(tenant, name), " does not parse"));
  }
  if (!bytes || function.deleted()) {
    return absl::NotFoundError(absl::StrCat(FunctionName(tenant, name), " does not exist"));
  }

  rocksdb::WriteBatch batch;
  absl::flat_hash_set<std::string> bundles;
  absl::flat_hash_set<std::pair<std::string, std::string>> snapshots;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kVersions, VersionPrefix(tenant, name), nullptr,
           [&](absl::string_view key, absl::string_view value) {
             std::optional<internal::VersionKeyParts> parts = internal::ParseVersionKey(key);
             if (!parts)
               return absl::DataLossError(absl::StrCat("bad versions key ", Printable(key)));
             KILN_ASSIGN_OR_RETURN(VersionRecord version,
                                   ToVersion(tenant, name, parts->version, value));
             batch.Delete(Handle(ColumnFamily::kVersions), ToSlice(key));
             batch.Delete(Handle(ColumnFamily::kRefs),
                          RefKey(version.bundle_sha256, version.runtime_fingerprint, tenant, name,
                                 version.version));
             bundles.insert(version.bundle_sha256);
             snapshots.emplace(version.bundle_sha256, version.runtime_fingerprint);
             return absl::OkStatus();
           }));
  for (const std::string& sha : bundles) {
    KILN_ASSIGN_OR_RETURN(bool used, UsedElsewhere(RefPrefix(sha), tenant, name));
    if (!used) batch.Delete(Handle(ColumnFamily::kBundles), BundleKey(sha));
  }
  for (const auto& [sha, fingerprint] : snapshots) {
    KILN_ASSIGN_OR_RETURN(bool used, UsedElsewhere(RefPrefix(sha, fingerprint), tenant, name));
    if (!used) batch.Delete(Handle(ColumnFamily::kSnapshots), SnapshotKey(sha, fingerprint));
  }
  // Keep a tombstone with the counter so a redeploy never reuses a number.
  function.set_deleted(true);
  function.set_active_version(0);
  function.set_updated_ms(NowMs());
  batch.Put(Handle(ColumnFamily::kFunctions), FunctionKey(tenant, name),
            function.SerializeAsString());
  return WriteSynced(batch, absl::StrCat("deleting ", FunctionName(tenant, name)));
}

// ---- reads -------------------------------------------------------------------

absl::StatusOr<FunctionRecord> RocksDbStore::GetFunction(absl::string_view tenant,
                                                         absl::string_view name) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(name));
  KILN_ASSIGN_OR_RETURN(std::optional<FunctionRecord> function, ReadFunction(tenant, name));
  if (!function) {
    return absl::NotFoundError(absl::StrCat(FunctionName(tenant, name), " does not exist"));
  }
  return *std::move(function);
}

absl::StatusOr<std::vector<FunctionRecord>> RocksDbStore::ListFunctions(
    absl::string_view tenant) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  std::vector<FunctionRecord> functions;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kFunctions, FunctionPrefix(tenant), nullptr,
           [&](absl::string_view key, absl::string_view value) {
             if (IsDeleted(value)) return absl::OkStatus();
             std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
             if (!parts) {
               return absl::DataLossError(absl::StrCat("bad functions key ", Printable(key)));
             }
             KILN_ASSIGN_OR_RETURN(FunctionRecord function,
                                   ToFunction(parts->tenant, parts->name, value));
             functions.push_back(std::move(function));
             return absl::OkStatus();
           }));
  return functions;
}

absl::StatusOr<VersionRecord> RocksDbStore::GetVersion(absl::string_view tenant,
                                                       absl::string_view name,
                                                       uint64_t version) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(name));
  KILN_ASSIGN_OR_RETURN(std::optional<VersionRecord> record, ReadVersion(tenant, name, version));
  if (!record) {
    return absl::NotFoundError(
        absl::StrCat(FunctionName(tenant, name), " has no version ", version));
  }
  return *std::move(record);
}

absl::StatusOr<std::vector<VersionRecord>> RocksDbStore::ListVersions(
    absl::string_view tenant, absl::string_view name) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(name));
  ScopedSnapshot snapshot(db_);
  KILN_ASSIGN_OR_RETURN(std::optional<FunctionRecord> function,
                        ReadFunction(tenant, name, snapshot.get()));
  if (!function) {
    return absl::NotFoundError(absl::StrCat(FunctionName(tenant, name), " does not exist"));
  }
  std::vector<VersionRecord> versions;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kVersions, VersionPrefix(tenant, name), snapshot.get(),
           [&](absl::string_view key, absl::string_view value) {
             std::optional<internal::VersionKeyParts> parts = internal::ParseVersionKey(key);
             if (!parts)
               return absl::DataLossError(absl::StrCat("bad versions key ", Printable(key)));
             KILN_ASSIGN_OR_RETURN(VersionRecord version,
                                   ToVersion(tenant, name, parts->version, value));
             versions.push_back(std::move(version));
             return absl::OkStatus();
           }));
  return versions;
}

absl::StatusOr<kiln::v1::Bundle> RocksDbStore::GetBundle(absl::string_view sha256) const {
  KILN_RETURN_IF_ERROR(ValidateBundleSha(sha256));
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        Read(ColumnFamily::kBundles, BundleKey(sha256), nullptr,
                             /*fill_cache=*/false));
  if (!bytes) return absl::NotFoundError(absl::StrCat("no bundle ", sha256));
  std::string actual = Sha256Hex(*bytes);
  if (actual != sha256) {
    return absl::DataLossError(
        absl::StrCat("bundle ", sha256, " is corrupt: its stored bytes hash to ", actual));
  }
  kiln::v1::Bundle bundle;
  if (!bundle.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("bundle ", sha256, " does not parse"));
  }
  return bundle;
}

absl::StatusOr<std::string> RocksDbStore::GetSnapshot(absl::string_view bundle_sha256,
                                                      absl::string_view runtime_fingerprint) const {
  KILN_RETURN_IF_ERROR(ValidateBundleSha(bundle_sha256));
  KILN_RETURN_IF_ERROR(ValidateFingerprint(runtime_fingerprint));
  KILN_ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      Read(ColumnFamily::kSnapshots, SnapshotKey(bundle_sha256, runtime_fingerprint), nullptr,
           /*fill_cache=*/false));
  if (!bytes) {
    return absl::NotFoundError(absl::StrCat("no snapshot of bundle ", bundle_sha256,
                                            " for runtime \"", Printable(runtime_fingerprint),
                                            "\""));
  }
  KILN_RETURN_IF_ERROR(SnapshotBlob(*bytes, bundle_sha256, runtime_fingerprint).status());
  bytes->erase(0, kHashBytes);
  return *std::move(bytes);
}

absl::StatusOr<bool> RocksDbStore::HasSnapshot(absl::string_view bundle_sha256,
                                               absl::string_view runtime_fingerprint) const {
  KILN_RETURN_IF_ERROR(ValidateBundleSha(bundle_sha256));
  KILN_RETURN_IF_ERROR(ValidateFingerprint(runtime_fingerprint));
  // The refs index says so without reading the blob: a snapshot exists exactly
  // while some version refers to it.
  bool found = false;
  absl::Status scanned = Scan(ColumnFamily::kRefs, RefPrefix(bundle_sha256, runtime_fingerprint),
                              nullptr, [&](absl::string_view, absl::string_view) {
                                found = true;
                                return absl::CancelledError();
                              });
  if (found) return true;
  KILN_RETURN_IF_ERROR(scanned);
  return false;
}

absl::Status RocksDbStore::ForEachFunction(
    absl::FunctionRef<absl::Status(const FunctionRecord&, const VersionRecord&)> fn) const {
  ScopedSnapshot snapshot(db_);
  return Scan(ColumnFamily::kFunctions, "", snapshot.get(),
              [&](absl::string_view key, absl::string_view value) {
                if (IsDeleted(value)) return absl::OkStatus();
                std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
                if (!parts) {
                  return absl::DataLossError(absl::StrCat("bad functions key ", Printable(key)));
                }
                KILN_ASSIGN_OR_RETURN(FunctionRecord function,
                                      ToFunction(parts->tenant, parts->name, value));
                KILN_ASSIGN_OR_RETURN(std::optional<VersionRecord> active,
                                      ReadVersion(function.tenant, function.name,
                                                  function.active_version, snapshot.get()));
                if (!active) {
                  return absl::DataLossError(
                      absl::StrCat(FunctionName(function.tenant, function.name),
                                   ": active version ", function.active_version, " is missing"));
                }
                return fn(function, *active);
              });
}

// ---- secrets -----------------------------------------------------------------

absl::Status RocksDbStore::SetSecret(absl::string_view tenant, absl::string_view name,
                                     absl::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateSecret(name, value));
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(bool exists, TenantExists(tenant));
  if (!exists) return absl::NotFoundError(absl::StrCat("tenant \"", tenant, "\" does not exist"));
  rocksdb::WriteBatch batch;
  batch.Put(Handle(ColumnFamily::kSecrets), SecretKey(tenant, name), ToSlice(value));
  return WriteSynced(batch, absl::StrCat("setting secret ", name, " of tenant ", tenant));
}

absl::Status RocksDbStore::DeleteSecret(absl::string_view tenant, absl::string_view name) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateEnvName(name));
  absl::MutexLock lock(&write_mu_);
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                        Read(ColumnFamily::kSecrets, SecretKey(tenant, name)));
  if (!existing) {
    return absl::NotFoundError(
        absl::StrCat("tenant \"", tenant, "\" has no secret \"", name, "\""));
  }
  rocksdb::WriteBatch batch;
  batch.Delete(Handle(ColumnFamily::kSecrets), SecretKey(tenant, name));
  return WriteSynced(batch, absl::StrCat("deleting secret ", name, " of tenant ", tenant));
}

absl::StatusOr<std::vector<std::string>> RocksDbStore::ListSecretNames(
    absl::string_view tenant) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  std::vector<std::string> names;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kSecrets, SecretPrefix(tenant), nullptr,
           [&](absl::string_view key, absl::string_view) {
             std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
             if (!parts) {
               return absl::DataLossError(absl::StrCat("bad secrets key ", Printable(key)));
             }
             names.push_back(std::move(parts->name));
             return absl::OkStatus();
           }));
  return names;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> RocksDbStore::ResolveSecrets(
    absl::string_view tenant, const kiln::v1::FunctionConfig& config) const {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  ScopedSnapshot snapshot(db_);
  absl::flat_hash_map<std::string, std::string> values;
  for (const std::string& name : config.secret_names()) {
    KILN_RETURN_IF_ERROR(ValidateEnvName(name));
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          Read(ColumnFamily::kSecrets, SecretKey(tenant, name), snapshot.get()));
    if (!value) {
      return absl::NotFoundError(
          absl::StrCat("tenant \"", tenant, "\" has no secret \"", name, "\""));
    }
    values[name] = *std::move(value);
  }
  return values;
}

// ---- integrity ---------------------------------------------------------------

absl::Status RocksDbStore::VerifyIntegrity() const {
  ScopedSnapshot snapshot(db_);
  const rocksdb::Snapshot* snap = snapshot.get();
  auto violation = [](auto&&... parts) {
    return absl::DataLossError(absl::StrCat("integrity: ", parts...));
  };

  // meta
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> schema,
                        Read(ColumnFamily::kMeta, internal::kSchemaVersionKey, snap));
  if (!schema || *schema != absl::StrCat(schema_version_)) {
    return violation("schema version is not ", schema_version_);
  }
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> settings,
                        Read(ColumnFamily::kMeta, internal::kClusterSettingsKey, snap));
  if (!settings || !records::ClusterSettings().ParseFromString(*settings)) {
    return violation("cluster settings missing or unreadable");
  }

  // tenants
  absl::flat_hash_set<std::string> tenants;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kTenants, "", snap, [&](absl::string_view key, absl::string_view value) {
        records::TenantRecord record;
        if (!ValidateTenantName(key).ok() || !record.ParseFromArray(value.data(), value.size()) ||
            record.token_sha256().size() != kHashBytes) {
          return violation("bad tenant record ", Printable(key));
        }
        tenants.insert(std::string(key));
        return absl::OkStatus();
      }));

  // functions: tenant -> name -> record (deleted ones included)
  absl::flat_hash_map<std::string, records::FunctionRecord> functions;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kFunctions, "", snap, [&](absl::string_view key, absl::string_view value) {
        std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
        records::FunctionRecord record;
        if (!parts || !record.ParseFromArray(value.data(), value.size())) {
          return violation("bad function record ", Printable(key));
        }
        if (!tenants.contains(parts->tenant)) {
          return violation(FunctionName(parts->tenant, parts->name), " has no tenant");
        }
        functions.emplace(std::string(key), std::move(record));
        return absl::OkStatus();
      }));

  // bundles and snapshots: present and intact
  absl::flat_hash_set<std::string> bundles;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kBundles, "", snap, [&](absl::string_view key, absl::string_view value) {
        if (Sha256Hex(value) != key) {
          return violation("bundle ", Printable(key), " does not hash to its key");
        }
        bundles.insert(std::string(key));
        return absl::OkStatus();
      }));
  absl::flat_hash_set<std::string> snapshots;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kSnapshots, "", snap, [&](absl::string_view key, absl::string_view value) {
        std::optional<internal::SnapshotKeyParts> parts = internal::ParseSnapshotKey(key);
        if (!parts) return violation("bad snapshots key ", Printable(key));
        absl::Status intact = SnapshotBlob(value, parts->sha256, parts->fingerprint).status();
        if (!intact.ok()) return violation(intact.message());
        snapshots.insert(std::string(key));
        return absl::OkStatus();
      }));

  // versions: each complete
  absl::flat_hash_set<std::string> used_bundles, used_snapshots, expected_refs;
  absl::flat_hash_set<std::string> versions;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kVersions, "", snap, [&](absl::string_view key, absl::string_view value) {
        std::optional<internal::VersionKeyParts> parts = internal::ParseVersionKey(key);
        if (!parts) return violation("bad versions key ", Printable(key));
        absl::StatusOr<VersionRecord> version =
            ToVersion(parts->tenant, parts->name, parts->version, value);
        if (!version.ok()) return violation(version.status().message());
        std::string what = absl::StrCat("version ", parts->version, " of ",
                                        FunctionName(parts->tenant, parts->name));
        auto function = functions.find(FunctionKey(parts->tenant, parts->name));
        if (function == functions.end() || function->second.deleted()) {
          return violation(what, " has no live function");
        }
        if (function->second.next_version() <= parts->version) {
          return violation(what, " is not below the function's next_version ",
                           function->second.next_version());
        }
        if (!bundles.contains(version->bundle_sha256)) {
          return violation(what, " has no bundle ", version->bundle_sha256);
        }
        std::string snapshot_key =
            SnapshotKey(version->bundle_sha256, version->runtime_fingerprint);
        if (!snapshots.contains(snapshot_key)) return violation(what, " has no snapshot");
        used_bundles.insert(version->bundle_sha256);
        used_snapshots.insert(snapshot_key);
        expected_refs.insert(RefKey(version->bundle_sha256, version->runtime_fingerprint,
                                    parts->tenant, parts->name, parts->version));
        versions.insert(std::string(key));
        return absl::OkStatus();
      }));

  // live functions: active version exists
  for (const auto& [key, record] : functions) {
    if (record.deleted()) continue;
    std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
    if (!versions.contains(VersionKey(parts->tenant, parts->name, record.active_version()))) {
      return violation(FunctionName(parts->tenant, parts->name), ": active version ",
                       record.active_version(), " does not exist");
    }
  }
  for (const std::string& bundle : bundles) {
    if (!used_bundles.contains(bundle)) return violation("bundle ", bundle, " is unused");
  }
  for (const std::string& key : snapshots) {
    if (!used_snapshots.contains(key)) return violation("snapshot ", Printable(key), " is unused");
  }

  // refs: exactly one per version
  size_t refs = 0;
  KILN_RETURN_IF_ERROR(
      Scan(ColumnFamily::kRefs, "", snap, [&](absl::string_view key, absl::string_view) {
        if (!expected_refs.contains(key)) {
          return violation("ref ", Printable(key), " has no version");
        }
        ++refs;
        return absl::OkStatus();
      }));
  if (refs != expected_refs.size()) {
    return violation(expected_refs.size() - refs, " versions have no ref");
  }

  // secrets: tenant exists
  return Scan(ColumnFamily::kSecrets, "", snap, [&](absl::string_view key, absl::string_view) {
    std::optional<internal::FunctionKeyParts> parts = internal::ParseFunctionKey(key);
    if (!parts || !tenants.contains(parts->tenant)) {
      return violation("secret ", Printable(key), " has no tenant");
    }
    return absl::OkStatus();
  });
}

}  // namespace kiln::scheduler
