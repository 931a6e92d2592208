// Proves RocksDB (Debian's librocksdb) is linked and durable: a synced write
// survives closing and reopening the database under TEST_TMPDIR.
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace {

TEST(RocksDbTest, WriteCloseReopenRead) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string path = std::string(tmp) + "/rocksdb_test";

  rocksdb::Options options;
  options.create_if_missing = true;
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions write;
    write.sync = true;
    ASSERT_TRUE(db->Put(write, "bundle/abc", "export default {}").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "bundle/abc", &value).ok());
    EXPECT_EQ(value, "export default {}");
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "bundle/missing", &value).IsNotFound());
  }
}

}  // namespace
