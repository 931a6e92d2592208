// Damaged data is detected and never served: a stored bundle or snapshot whose
// bytes no longer match their hash is DataLoss (and the next deploy of the same
// content repairs it); a byte flipped in an SST file on disk is caught by
// RocksDB's block checksums and surfaces as DataLoss, not as wrong bytes.
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/rocksdb_store.h"
#include "scheduler/store/store_test_util.h"

namespace kiln::scheduler {
namespace {

constexpr absl::string_view kFingerprint = "runtime-1";

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir();
    Open();
    ASSERT_TRUE(store_->CreateTenant("acme").ok());
  }

  void Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::Open({.path = dir_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  absl::StatusOr<VersionRecord> Deploy(absl::string_view name, const kiln::v1::Bundle& bundle,
                                       absl::string_view snapshot) {
    kiln::v1::FunctionConfig config;
    return store_->CommitDeploy({.tenant = "acme",
                                 .name = name,
                                 .bundle = bundle,
                                 .config = config,
                                 .runtime_fingerprint = kFingerprint,
                                 .snapshot = snapshot});
  }

  std::string dir_;
  std::unique_ptr<RocksDbStore> store_;
};

TEST_F(CorruptionTest, BundleBytesThatNoLongerMatchTheirHashAreDataLoss) {
  kiln::v1::Bundle bundle = testing::OneFileBundle("export default { fetch() {} };");
  ASSERT_TRUE(Deploy("a", bundle, "blob").ok());
  const std::string sha = BundleSha256(bundle);
  store_.reset();

  // One byte of the stored bundle changed behind the store's back: still a
  // parseable Bundle, so only the hash check can tell.
  std::string stored = CanonicalBundleBytes(bundle);
  size_t at = stored.find("fetch");
  ASSERT_NE(at, std::string::npos);
  stored[at] = 'F';
  ASSERT_EQ(testing::RawDb::Open(dir_)->Put(ColumnFamily::kBundles, sha, stored), "OK");

  Open();
  absl::StatusOr<kiln::v1::Bundle> read = store_->GetBundle(sha);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  EXPECT_NE(read.status().message().find("corrupt"), std::string::npos);
  EXPECT_EQ(store_->VerifyIntegrity().code(), absl::StatusCode::kDataLoss);

  // Deploying the same content again rewrites the damaged copy.
  ASSERT_TRUE(Deploy("b", bundle, "blob").ok());
  read = store_->GetBundle(sha);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), CanonicalBundleBytes(bundle));
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
}

TEST_F(CorruptionTest, SnapshotBytesThatNoLongerMatchTheirHashAreDataLoss) {
  kiln::v1::Bundle bundle = testing::OneFileBundle("x");
  const std::string blob = std::string(5000, 'b');
  ASSERT_TRUE(Deploy("a", bundle, blob).ok());
  const std::string sha = BundleSha256(bundle);
  store_.reset();
  {
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir_);
    std::vector<std::pair<std::string, std::string>> snapshots = raw->All(ColumnFamily::kSnapshots);
    ASSERT_EQ(snapshots.size(), 1u);
    std::string damaged = snapshots[0].second;
    damaged[damaged.size() / 2] ^= 0x20;
    ASSERT_EQ(raw->Put(ColumnFamily::kSnapshots, snapshots[0].first, damaged), "OK");
  }
  Open();
  EXPECT_EQ(store_->GetSnapshot(sha, kFingerprint).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->VerifyIntegrity().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(Deploy("b", bundle, blob).ok());
  absl::StatusOr<std::string> read = store_->GetSnapshot(sha, kFingerprint);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, blob);
}

TEST_F(CorruptionTest, FlippedByteInAnSstFileIsCaughtByBlockChecksums) {
  // Random bytes do not compress, so RocksDB stores them as they are and the
  // marker below can be found in the SST file.
  std::mt19937_64 random(7);
  std::string payload(64 << 10, '\0');
  for (char& c : payload) c = static_cast<char>(random());
  const std::string marker = "MARKER-0123456789-MARKER";
  payload.replace(payload.size() / 2, marker.size(), marker);
  kiln::v1::Bundle bundle = testing::OneFileBundle("export default {};");
  kiln::v1::BundleFile* data = bundle.add_files();
  data->set_path("payload.bin");
  data->set_content(payload);
  ASSERT_TRUE(Deploy("a", bundle, "blob").ok());
  const std::string sha = BundleSha256(bundle);
  store_.reset();

  {  // Move everything from the WAL into SST files.
    std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir_);
    rocksdb::FlushOptions flush;
    flush.wait = true;
    for (ColumnFamily cf : kAllColumnFamilies) {
      ASSERT_TRUE(raw->db()->Flush(flush, raw->cf(cf)).ok());
    }
  }

  int flipped = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() != ".sst") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    size_t at = bytes.find(marker);
    if (at == std::string::npos) continue;
    file.seekp(static_cast<std::streamoff>(at + 3));
    file.put(static_cast<char>(bytes[at + 3] ^ 0x01));
    ++flipped;
  }
  ASSERT_EQ(flipped, 1) << "the bundle should sit in exactly one SST file";

  // The flipped byte is in a data block, which opening does not read.
  Open();
  absl::StatusOr<kiln::v1::Bundle> read = store_->GetBundle(sha);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
  // RocksDB's own check fired, before the store's hash check had the bytes.
  EXPECT_NE(read.status().message().find("checksum mismatch"), std::string::npos) << read.status();
  EXPECT_EQ(store_->VerifyIntegrity().code(), absl::StatusCode::kDataLoss);
  // Records in other blocks are still served.
  EXPECT_TRUE(store_->GetFunction("acme", "a").ok());
  // A deploy of the same content writes a good copy, which reads then return.
  ASSERT_TRUE(Deploy("b", bundle, "blob").ok());
  read = store_->GetBundle(sha);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->files(1).content(), payload);
}

}  // namespace
}  // namespace kiln::scheduler
