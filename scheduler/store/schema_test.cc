// The schema version check and the migration mechanism of RocksDbStore::Open:
// a fresh dir is initialised by the built-in 0 -> 1 step, an older dir is
// migrated step by step, a newer one is refused, a failed step changes nothing.
#include "scheduler/store/schema.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/store/keys.h"
#include "scheduler/store/rocksdb_store.h"
#include "scheduler/store/store_records.pb.h"
#include "scheduler/store/store_test_util.h"

namespace kiln::scheduler {
namespace {

using internal::kClusterSettingsKey;
using internal::kSchemaVersionKey;

std::string RawGet(testing::RawDb& raw, ColumnFamily cf, absl::string_view key) {
  std::string value;
  rocksdb::Status s = raw.db()->Get(rocksdb::ReadOptions(), raw.cf(cf),
                                    rocksdb::Slice(key.data(), key.size()), &value);
  return s.ok() ? value : "<" + s.ToString() + ">";
}

void RawDelete(testing::RawDb& raw, ColumnFamily cf, absl::string_view key) {
  rocksdb::WriteOptions write;
  write.sync = true;
  ASSERT_TRUE(raw.db()->Delete(write, raw.cf(cf), rocksdb::Slice(key.data(), key.size())).ok());
}

// A step 1 -> 2 for tests: records a marker in meta.
Migration MarkerStep() {
  return {.from = 1, .description = "test: add a marker", .apply = [](MigrationContext& context) {
            absl::StatusOr<std::string> cluster = context.Get(ColumnFamily::kMeta, "cluster");
            if (!cluster.ok()) return cluster.status();
            context.Put(ColumnFamily::kMeta, "marker", "migrated");
            return absl::OkStatus();
          }};
}

RocksDbStoreOptions WithSchema(const std::string& path, uint32_t version,
                               std::vector<Migration> extra) {
  RocksDbStoreOptions options;
  options.path = path;
  options.schema_version = version;
  for (Migration& m : extra) options.migrations.push_back(std::move(m));
  return options;
}

TEST(SchemaTest, FreshDirIsInitialisedToTheCurrentSchema) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
  EXPECT_EQ(RawGet(*raw, ColumnFamily::kMeta, kSchemaVersionKey), absl::StrCat(kSchemaVersion));
  records::ClusterSettings settings;
  ASSERT_TRUE(settings.ParseFromString(RawGet(*raw, ColumnFamily::kMeta, kClusterSettingsKey)));
  EXPECT_NE(settings.hash_seed(), 0u);
}

TEST(SchemaTest, StepZeroToOneKeepsExistingSettings) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  {
    // A dir with settings but no schema version (as before versioning).
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
    RawDelete(*raw, ColumnFamily::kMeta, kSchemaVersionKey);
    records::ClusterSettings settings;
    settings.set_hash_seed(42);
    ASSERT_EQ(raw->Put(ColumnFamily::kMeta, kClusterSettingsKey, settings.SerializeAsString()),
              "OK");
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = dir});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->schema_version(), 1u);
  EXPECT_EQ((*store)->cluster_settings().hash_seed, 42u);
}

TEST(SchemaTest, NewerSchemaIsRefusedAndLeftAlone) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  const std::string newer = absl::StrCat(kSchemaVersion + 1);
  ASSERT_EQ(testing::RawDb::Open(dir)->Put(ColumnFamily::kMeta, kSchemaVersionKey, newer), "OK");

  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = dir});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      store.status().message().find(absl::StrCat(
          "schema version ", newer, ", newer than this Kiln understands (", kSchemaVersion, ")")),
      std::string::npos)
      << store.status();
  EXPECT_EQ(RawGet(*testing::RawDb::Open(dir), ColumnFamily::kMeta, kSchemaVersionKey), newer);
}

TEST(SchemaTest, NewerSchemaWithAnUnknownColumnFamilyGetsTheSchemaError) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  {
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
    rocksdb::ColumnFamilyHandle* queues = nullptr;
    ASSERT_TRUE(
        raw->db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "queues", &queues).ok());
    raw->db()->DestroyColumnFamilyHandle(queues);
    ASSERT_EQ(raw->Put(ColumnFamily::kMeta, kSchemaVersionKey, "7"), "OK");
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = dir});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("written by a newer Kiln"), std::string::npos);
}

TEST(SchemaTest, UnknownColumnFamilyAtTheCurrentSchemaIsTolerated) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  {
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
    rocksdb::ColumnFamilyHandle* extra = nullptr;
    ASSERT_TRUE(
        raw->db()->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "extra", &extra).ok());
    raw->db()->DestroyColumnFamilyHandle(extra);
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = dir});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->CreateTenant("acme").ok());
}

TEST(SchemaTest, OlderDirIsMigratedByTheRegisteredStep) {
  std::string dir = testing::TestDir();
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> v1 = RocksDbStore::Open({.path = dir});
    ASSERT_TRUE(v1.ok());
    ASSERT_TRUE((*v1)->CreateTenant("acme").ok());
  }
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> v2 =
        RocksDbStore::Open(WithSchema(dir, 2, {MarkerStep()}));
    ASSERT_TRUE(v2.ok()) << v2.status();
    EXPECT_EQ((*v2)->schema_version(), 2u);
    EXPECT_EQ((*v2)->ListTenants()->size(), 1u);  // data kept
    EXPECT_TRUE((*v2)->VerifyIntegrity().ok()) << (*v2)->VerifyIntegrity();
  }
  {
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
    EXPECT_EQ(RawGet(*raw, ColumnFamily::kMeta, kSchemaVersionKey), "2");
    EXPECT_EQ(RawGet(*raw, ColumnFamily::kMeta, "marker"), "migrated");
  }
  // Code that knows only schema 1 now refuses the dir.
  EXPECT_EQ(RocksDbStore::Open({.path = dir}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SchemaTest, FailedStepLeavesTheDirAtTheOldVersion) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  Migration failing = {.from = 1, .description = "test: fails", .apply = [](MigrationContext& c) {
                         c.Put(ColumnFamily::kMeta, "marker", "half-done");
                         return absl::DataLossError("cannot convert record 17");
                       }};
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      RocksDbStore::Open(WithSchema(dir, 2, {failing}));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("schema migration 1 -> 2 (test: fails)"),
            std::string::npos)
      << store.status();
  {
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir);
    EXPECT_EQ(RawGet(*raw, ColumnFamily::kMeta, kSchemaVersionKey), "1");
    EXPECT_NE(RawGet(*raw, ColumnFamily::kMeta, "marker").find("NotFound"), std::string::npos);
  }
  EXPECT_TRUE(RocksDbStore::Open({.path = dir}).ok());
}

TEST(SchemaTest, MissingStepIsInternal) {
  std::string dir = testing::TestDir();
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      RocksDbStore::Open(WithSchema(dir, 3, {MarkerStep()}));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(store.status().message().find("no migration registered from schema version 2"),
            std::string::npos)
      << store.status();
  // The steps that exist were applied, each durably.
  EXPECT_EQ(RawGet(*testing::RawDb::Open(dir), ColumnFamily::kMeta, kSchemaVersionKey), "2");
}

TEST(SchemaTest, UnreadableSchemaVersionIsDataLoss) {
  std::string dir = testing::TestDir();
  ASSERT_TRUE(RocksDbStore::Open({.path = dir}).ok());
  ASSERT_EQ(testing::RawDb::Open(dir)->Put(ColumnFamily::kMeta, kSchemaVersionKey, "one"), "OK");
  EXPECT_EQ(RocksDbStore::Open({.path = dir}).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kiln::scheduler
