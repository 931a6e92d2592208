// Test helpers for scheduler/store (store_test_util.h).
#include "scheduler/store/store_test_util.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kiln::scheduler::testing {

std::string TestDir(absl::string_view suffix) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? absl::StrCat(info->test_suite_name(), ".", info->name()) : "dir";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::string path = absl::StrCat(tmp ? tmp : "/tmp", "/", name, suffix);
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

kiln::v1::Bundle OneFileBundle(absl::string_view source) {
  kiln::v1::Bundle bundle;
  kiln::v1::BundleFile* file = bundle.add_files();
  file->set_path("index.js");
  file->set_content(std::string(source));
  bundle.set_main_module("index.js");
  return bundle;
}

kiln::v1::Bundle CrashBundle(absl::string_view name, uint64_t version) {
  kiln::v1::Bundle bundle;
  bundle.set_main_module("index.js");
  kiln::v1::BundleFile* main = bundle.add_files();
  main->set_path("index.js");
  if (version % 5 == 0) {
    main->set_content("export default { fetch() { return new Response('shared'); } };");
    return bundle;
  }
  main->set_content(absl::StrCat("export default { fetch() { return new Response('", name, " v",
                                 version, "'); } };"));
  // A few KiB of filler so memtables fill and flush during the test.
  kiln::v1::BundleFile* data = bundle.add_files();
  data->set_path("data.txt");
  std::string filler;
  uint64_t x = version * 0x9e3779b97f4a7c15ull + name.size();
  for (int i = 0; i < 2048; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    filler.push_back(static_cast<char>('a' + x % 26));
  }
  data->set_content(filler);
  return bundle;
}

std::string CrashSnapshot(absl::string_view name, uint64_t version) {
  // One snapshot per bundle, as a real build would give.
  if (version % 5 == 0) return std::string(4096, 'S');
  return absl::StrCat("snapshot of ", name, " v", version, std::string(8192, 's'));
}

std::unique_ptr<RawDb> RawDb::Open(const std::string& path) {
  std::unique_ptr<RawDb> raw(new RawDb());
  rocksdb::DBOptions options;
  options.paranoid_checks = true;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &raw->names_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return nullptr;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : raw->names_) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  s = rocksdb::DB::Open(options, path, descriptors, &raw->handles_, &raw->db_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return nullptr;
  return raw;
}

RawDb::~RawDb() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  db_->Close().PermitUncheckedError();
  delete db_;
}

rocksdb::ColumnFamilyHandle* RawDb::cf(ColumnFamily family) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == ColumnFamilyName(family)) return handles_[i];
  }
  ADD_FAILURE() << "no column family " << ColumnFamilyName(family);
  return nullptr;
}

std::string RawDb::Put(ColumnFamily family, absl::string_view key, absl::string_view value) {
  rocksdb::WriteOptions write;
  write.sync = true;
  return db_
      ->Put(write, cf(family), rocksdb::Slice(key.data(), key.size()),
            rocksdb::Slice(value.data(), value.size()))
      .ToString();
}

std::vector<std::pair<std::string, std::string>> RawDb::All(ColumnFamily family) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(family)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

std::vector<std::pair<std::string, std::string>> RawDb::Everything() {
  std::vector<std::pair<std::string, std::string>> out;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ReadAllFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    out.emplace_back(entry.path().string(), bytes.str());
  }
  return out;
}

}  // namespace kiln::scheduler::testing
