// Test helpers for scheduler/store: per-test data dirs, deploy inputs, and raw
// RocksDB access to a closed store's data dir for tests that must see or damage
// the bytes on disk. testonly.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"
#include "scheduler/store/schema.h"

namespace kiln::scheduler::testing {

// A new, empty directory under $TEST_TMPDIR named after the running test (and
// `suffix`); removed first if a previous run left it.
std::string TestDir(absl::string_view suffix = "");

// A valid one-file bundle whose main module holds `source`.
kiln::v1::Bundle OneFileBundle(absl::string_view source);

// What the crash test's writer deploys as version `version` of `name`: a
// deterministic bundle (every fifth version shares one bundle across
// functions) and snapshot, so the parent can recompute what was committed.
kiln::v1::Bundle CrashBundle(absl::string_view name, uint64_t version);
std::string CrashSnapshot(absl::string_view name, uint64_t version);
inline constexpr absl::string_view kCrashFingerprint = "crash-test-runtime-1";

// A store's data dir opened with RocksDB directly (the store must be closed).
class RawDb {
 public:
  static std::unique_ptr<RawDb> Open(const std::string& path);
  ~RawDb();

  rocksdb::DB* db() { return db_; }
  rocksdb::ColumnFamilyHandle* cf(ColumnFamily family);

  // Synced put; returns RocksDB's status as a string ("OK" on success).
  std::string Put(ColumnFamily family, absl::string_view key, absl::string_view value);
  // Every (key, value) of a column family, in order.
  std::vector<std::pair<std::string, std::string>> All(ColumnFamily family);
  // Every (key, value) of every column family, "default" included.
  std::vector<std::pair<std::string, std::string>> Everything();

 private:
  RawDb() = default;
  rocksdb::DB* db_ = nullptr;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Every file under `dir`, recursively, with its bytes.
std::vector<std::pair<std::string, std::string>> ReadAllFiles(const std::string& dir);

}  // namespace kiln::scheduler::testing
