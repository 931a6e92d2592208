// RocksDbStore on a real RocksDB in a per-test directory: deploy commits and
// their durability across reopen, version numbering, rollback, delete with
// garbage collection, tenant isolation, tokens, secrets, startup loading.
#include "scheduler/store/rocksdb_store.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/store_test_util.h"

namespace kiln::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

MATCHER_P(StatusIs, code, "") { return arg.code() == code; }
MATCHER_P2(StatusIs, code, text, "") {
  return arg.code() == code && std::string(arg.message()).find(text) != std::string::npos;
}

constexpr absl::string_view kFingerprint = "kiln-runtime-test-1";

class RocksDbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir();
    Reopen();
  }

  RocksDbStoreOptions Options() {
    RocksDbStoreOptions options;
    options.path = dir_;
    options.clock = [this] { return absl::FromUnixMillis(now_ms_.load()); };
    return options;
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::Open(Options());
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  std::string NewTenant(absl::string_view name) {
    absl::StatusOr<std::string> token = store_->CreateTenant(name);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  absl::StatusOr<VersionRecord> Deploy(absl::string_view tenant, absl::string_view name,
                                       const kiln::v1::Bundle& bundle,
                                       const kiln::v1::FunctionConfig& config = {},
                                       absl::string_view fingerprint = kFingerprint) {
    std::string snapshot = SnapshotFor(bundle, fingerprint);
    return store_->CommitDeploy({.tenant = tenant,
                                 .name = name,
                                 .bundle = bundle,
                                 .config = config,
                                 .runtime_fingerprint = fingerprint,
                                 .snapshot = snapshot});
  }

  absl::StatusOr<VersionRecord> Deploy(absl::string_view tenant, absl::string_view name,
                                       absl::string_view source) {
    return Deploy(tenant, name, testing::OneFileBundle(source));
  }

  // A stand-in for the worker's build: one blob per (bundle, runtime).
  static std::string SnapshotFor(const kiln::v1::Bundle& bundle, absl::string_view fingerprint) {
    return absl::StrCat("SNAPSHOT[", fingerprint, "]", BundleSha256(bundle),
                        std::string(1000, '\x01'));
  }

  std::vector<uint64_t> VersionNumbers(absl::string_view tenant, absl::string_view name) {
    std::vector<uint64_t> out;
    absl::StatusOr<std::vector<VersionRecord>> versions = store_->ListVersions(tenant, name);
    EXPECT_TRUE(versions.ok()) << versions.status();
    for (const VersionRecord& v : versions.value_or(std::vector<VersionRecord>{})) {
      out.push_back(v.version);
    }
    return out;
  }

  uint64_t Active(absl::string_view tenant, absl::string_view name) {
    absl::StatusOr<FunctionRecord> function = store_->GetFunction(tenant, name);
    EXPECT_TRUE(function.ok()) << function.status();
    return function.ok() ? function->active_version : 0;
  }

  size_t Count(ColumnFamily cf) {
    store_.reset();
    size_t n = testing::RawDb::Open(dir_)->All(cf).size();
    Reopen();
    return n;
  }

  std::string dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<RocksDbStore> store_;
};

// ---- open, settings ----------------------------------------------------------

TEST_F(RocksDbStoreTest, FirstOpenGeneratesClusterSettingsThatPersist) {
  ClusterSettings first = store_->cluster_settings();
  EXPECT_NE(first.hash_seed, 0u);
  EXPECT_EQ(first.created_ms, now_ms_.load());
  EXPECT_EQ(store_->schema_version(), kSchemaVersion);
  now_ms_ += 1000;
  Reopen();
  EXPECT_EQ(store_->cluster_settings().hash_seed, first.hash_seed);
  EXPECT_EQ(store_->cluster_settings().created_ms, first.created_ms);
  // Another data dir gets another seed.
  absl::StatusOr<std::unique_ptr<RocksDbStore>> other =
      RocksDbStore::Open({.path = testing::TestDir("-other")});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE((*other)->cluster_settings().hash_seed, first.hash_seed);
}

TEST_F(RocksDbStoreTest, SecondOpenOfTheSameDirIsRefused) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> again = RocksDbStore::Open(Options());
  EXPECT_THAT(again.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "in use"));
}

TEST_F(RocksDbStoreTest, EmptyPathIsInvalid) {
  EXPECT_THAT(RocksDbStore::Open({.path = ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RocksDbStoreTest, IntegrityHoldsAfterEveryKindOfWrite) {
  NewTenant("acme");
  ASSERT_TRUE(Deploy("acme", "a", "1").ok());
  ASSERT_TRUE(Deploy("acme", "a", "2").ok());
  ASSERT_TRUE(Deploy("acme", "b", "1").ok());
  ASSERT_TRUE(store_->Rollback("acme", "a", 0).ok());
  ASSERT_TRUE(store_->SetSecret("acme", "K", "v").ok());
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
}

// ---- deploy commit -----------------------------------------------------------

TEST_F(RocksDbStoreTest, CommitCloseReopenIsByteIdentical) {
  NewTenant("acme");
  kiln::v1::Bundle bundle;
  bundle.set_main_module("index.js");
  // Files out of order, binary content with NULs and high bytes.
  auto add = [&](std::string path, std::string content) {
    kiln::v1::BundleFile* file = bundle.add_files();
    file->set_path(path);
    file->set_content(content);
  };
  add("lib/util.js", "export const x = 1;");
  add("index.js", "import {x} from './lib/util.js'; export default { fetch() {} };");
  add("data/blob.bin", std::string("\0\xff\x80zz\0", 6));
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["GREETING"] = "hello";
  (*config.mutable_vars())["EMPTY"] = "";
  config.add_secret_names("API_KEY");
  config.mutable_limits()->set_cpu_ms(75);
  config.add_routes()->set_pattern("api.example.com/v1/*");
  config.add_crons()->set_cron("*/5 * * * *");
  config.set_allow_eval(true);
  std::string snapshot(300'000, '\0');
  for (size_t i = 0; i < snapshot.size(); ++i) snapshot[i] = static_cast<char>(i * 131 % 251);

  absl::StatusOr<VersionRecord> committed =
      store_->CommitDeploy({.tenant = "acme",
                            .name = "api",
                            .bundle = bundle,
                            .config = config,
                            .runtime_fingerprint = kFingerprint,
                            .snapshot = snapshot});
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->version, 1u);
  EXPECT_EQ(committed->bundle_sha256, BundleSha256(bundle));
  EXPECT_EQ(committed->created_ms, now_ms_.load());

  store_.reset();
  Reopen();

  absl::StatusOr<FunctionRecord> function = store_->GetFunction("acme", "api");
  ASSERT_TRUE(function.ok()) << function.status();
  EXPECT_EQ(function->active_version, 1u);
  EXPECT_EQ(function->next_version, 2u);
  EXPECT_EQ(function->created_ms, now_ms_.load());

  absl::StatusOr<VersionRecord> version = store_->GetVersion("acme", "api", 1);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->bundle_sha256, BundleSha256(bundle));
  EXPECT_EQ(version->runtime_fingerprint, kFingerprint);
  EXPECT_EQ(DeterministicBytes(version->config), DeterministicBytes(config));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(version->config, config));
  EXPECT_EQ(version->created_ms, committed->created_ms);

  absl::StatusOr<kiln::v1::Bundle> stored = store_->GetBundle(version->bundle_sha256);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->SerializeAsString(), CanonicalBundleBytes(bundle));
  std::map<std::string, std::string> files;
  for (const auto& f : stored->files()) files[f.path()] = f.content();
  for (const auto& f : bundle.files()) EXPECT_EQ(files[f.path()], f.content()) << f.path();
  EXPECT_EQ(stored->main_module(), "index.js");

  absl::StatusOr<std::string> blob = store_->GetSnapshot(version->bundle_sha256, kFingerprint);
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(*blob, snapshot);
  EXPECT_TRUE(*store_->HasSnapshot(version->bundle_sha256, kFingerprint));
  EXPECT_FALSE(*store_->HasSnapshot(version->bundle_sha256, "other-runtime"));
  EXPECT_THAT(store_->GetSnapshot(version->bundle_sha256, "other-runtime").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RocksDbStoreTest, VersionsNumberFromOnePerFunction) {
  NewTenant("acme");
  for (uint64_t expected = 1; expected <= 3; ++expected) {
    absl::StatusOr<VersionRecord> v = Deploy("acme", "a", absl::StrCat("a", expected));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->version, expected);
    EXPECT_EQ(Active("acme", "a"), expected);
  }
  absl::StatusOr<VersionRecord> b = Deploy("acme", "b", "b1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->version, 1u);
  // Same bundle again is still a new version.
  absl::StatusOr<VersionRecord> again = Deploy("acme", "a", "a3");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 4u);
  EXPECT_THAT(VersionNumbers("acme", "a"), ElementsAre(1, 2, 3, 4));
}

TEST_F(RocksDbStoreTest, VersionsListInNumericOrderPast255) {
  NewTenant("acme");
  for (int i = 1; i <= 260; ++i) ASSERT_TRUE(Deploy("acme", "a", absl::StrCat(i % 3)).ok());
  std::vector<uint64_t> numbers = VersionNumbers("acme", "a");
  ASSERT_EQ(numbers.size(), 260u);
  EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end()));
  EXPECT_EQ(numbers.back(), 260u);
  // Three distinct bundles, stored once each.
  EXPECT_EQ(Count(ColumnFamily::kBundles), 3u);
  EXPECT_EQ(Count(ColumnFamily::kSnapshots), 3u);
}

TEST_F(RocksDbStoreTest, OlderVersionsAreUnchangedByLaterDeploys) {
  NewTenant("acme");
  ASSERT_TRUE(Deploy("acme", "a", "one").ok());
  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["X"] = "2";
  ASSERT_TRUE(Deploy("acme", "a", testing::OneFileBundle("two"), config).ok());
  absl::StatusOr<VersionRecord> v1 = store_->GetVersion("acme", "a", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->bundle_sha256, BundleSha256(testing::OneFileBundle("one")));
  EXPECT_TRUE(v1->config.vars().empty());
}

TEST_F(RocksDbStoreTest, CommitRejectsBadInputAndWritesNothing) {
  NewTenant("acme");
  kiln::v1::Bundle bad = testing::OneFileBundle("x");
  bad.mutable_files(0)->set_path("../x.js");
  bad.set_main_module("../x.js");
  EXPECT_THAT(Deploy("acme", "a", bad).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "'..'"));
  EXPECT_THAT(Deploy("acme", "Bad_Name", "x").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "function name"));
  EXPECT_THAT(Deploy("acme", "a", testing::OneFileBundle("x"), {}, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "fingerprint"));
  kiln::v1::Bundle ok = testing::OneFileBundle("x");
  kiln::v1::FunctionConfig config;
  EXPECT_THAT(store_
                  ->CommitDeploy({.tenant = "acme",
                                  .name = "a",
                                  .bundle = ok,
                                  .config = config,
                                  .runtime_fingerprint = kFingerprint,
                                  .snapshot = ""})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "snapshot"));
  EXPECT_THAT(Deploy("nobody", "a", "x").status(),
              StatusIs(absl::StatusCode::kNotFound, "tenant \"nobody\""));
  EXPECT_THAT(store_->GetFunction("acme", "a").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Count(ColumnFamily::kBundles), 0u);
  EXPECT_EQ(Count(ColumnFamily::kVersions), 0u);
}

TEST_F(RocksDbStoreTest, SnapshotsAreKeptPerRuntimeFingerprint) {
  NewTenant("acme");
  kiln::v1::Bundle bundle = testing::OneFileBundle("same");
  ASSERT_TRUE(Deploy("acme", "a", bundle, {}, "runtime-1").ok());
  ASSERT_TRUE(Deploy("acme", "a", bundle, {}, "runtime-2").ok());
  std::string sha = BundleSha256(bundle);
  EXPECT_EQ(*store_->GetSnapshot(sha, "runtime-1"), SnapshotFor(bundle, "runtime-1"));
  EXPECT_EQ(*store_->GetSnapshot(sha, "runtime-2"), SnapshotFor(bundle, "runtime-2"));
  EXPECT_EQ(store_->GetVersion("acme", "a", 1)->runtime_fingerprint, "runtime-1");
  EXPECT_EQ(store_->GetVersion("acme", "a", 2)->runtime_fingerprint, "runtime-2");
}

TEST_F(RocksDbStoreTest, UnknownBundleIsNotFoundAndMalformedHashInvalid) {
  EXPECT_THAT(store_->GetBundle(Sha256Hex("nothing")).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetBundle("abc").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RocksDbStoreTest, ConcurrentCommitsGetDistinctConsecutiveVersions) {
  NewTenant("acme");
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    // Readers never see a version without its function covering it.
    while (!done.load()) {
      absl::Status s = store_->ForEachFunction([](const FunctionRecord& f, const VersionRecord& v) {
        return v.version == f.active_version && f.next_version > v.version
                   ? absl::OkStatus()
                   : absl::InternalError("inconsistent read");
      });
      EXPECT_TRUE(s.ok()) << s;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<VersionRecord> v = Deploy("acme", "a", absl::StrCat("t", t, "i", i));
        EXPECT_TRUE(v.ok()) << v.status();
        if (v.ok()) got[t].push_back(v->version);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done = true;
  reader.join();
  std::set<uint64_t> all;
  for (const auto& versions : got) all.insert(versions.begin(), versions.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(store_->GetFunction("acme", "a")->next_version, kThreads * kEach + 1u);
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
}

// ---- rollback ----------------------------------------------------------------

TEST_F(RocksDbStoreTest, RollbackToPreviousThenToNamedVersion) {
  NewTenant("acme");
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Deploy("acme", "a", absl::StrCat("v", i)).ok());
  now_ms_ += 5000;
  absl::StatusOr<FunctionRecord> rolled = store_->Rollback("acme", "a", 0);
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(rolled->active_version, 2u);
  EXPECT_EQ(rolled->next_version, 4u);
  EXPECT_EQ(rolled->updated_ms, now_ms_.load());
  EXPECT_EQ(store_->Rollback("acme", "a", 0)->active_version, 1u);
  // Forward again to a named version.
  EXPECT_EQ(store_->Rollback("acme", "a", 3)->active_version, 3u);
  EXPECT_EQ(store_->Rollback("acme", "a", 1)->active_version, 1u);
  // Durable.
  Reopen();
  EXPECT_EQ(Active("acme", "a"), 1u);
  // A new deploy takes the next number and becomes active.
  absl::StatusOr<VersionRecord> v4 = Deploy("acme", "a", "v4");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->version, 4u);
  EXPECT_EQ(Active("acme", "a"), 4u);
  EXPECT_EQ(store_->Rollback("acme", "a", 0)->active_version, 3u);
}

TEST_F(RocksDbStoreTest, RollbackErrors) {
  NewTenant("acme");
  EXPECT_THAT(store_->Rollback("acme", "ghost", 0).status(),
              StatusIs(absl::StatusCode::kNotFound, "does not exist"));
  ASSERT_TRUE(Deploy("acme", "a", "v1").ok());
  EXPECT_THAT(store_->Rollback("acme", "a", 0).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "no previous version"));
  EXPECT_THAT(store_->Rollback("acme", "a", 7).status(),
              StatusIs(absl::StatusCode::kNotFound, "has no version 7"));
  ASSERT_TRUE(Deploy("acme", "a", "v2").ok());
  ASSERT_TRUE(store_->Rollback("acme", "a", 1).ok());
  EXPECT_THAT(store_->Rollback("acme", "a", 0).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Active("acme", "a"), 1u);
}

TEST_F(RocksDbStoreTest, RollbackToTheActiveVersionIsANoOp) {
  NewTenant("acme");
  ASSERT_TRUE(Deploy("acme", "a", "v1").ok());
  int64_t updated = store_->GetFunction("acme", "a")->updated_ms;
  now_ms_ += 1000;
  absl::StatusOr<FunctionRecord> same = store_->Rollback("acme", "a", 1);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->active_version, 1u);
  EXPECT_EQ(same->updated_ms, updated);
}

// ---- delete and garbage collection -------------------------------------------

TEST_F(RocksDbStoreTest, DeleteRemovesVersionsAndCollectsUnusedBundles) {
  NewTenant("acme");
  kiln::v1::Bundle shared = testing::OneFileBundle("shared");
  kiln::v1::Bundle only_a = testing::OneFileBundle("only a");
  ASSERT_TRUE(Deploy("acme", "a", shared).ok());
  ASSERT_TRUE(Deploy("acme", "a", only_a).ok());
  ASSERT_TRUE(Deploy("acme", "b", shared).ok());
  EXPECT_EQ(Count(ColumnFamily::kBundles), 2u);

  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_THAT(store_->GetFunction("acme", "a").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ListVersions("acme", "a").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetVersion("acme", "a", 1).status(), StatusIs(absl::StatusCode::kNotFound));
  // The bundle b still uses survives; a's own is gone, with its snapshot.
  EXPECT_TRUE(store_->GetBundle(BundleSha256(shared)).ok());
  EXPECT_TRUE(store_->GetSnapshot(BundleSha256(shared), kFingerprint).ok());
  EXPECT_THAT(store_->GetBundle(BundleSha256(only_a)).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetSnapshot(BundleSha256(only_a), kFingerprint).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Count(ColumnFamily::kBundles), 1u);
  EXPECT_EQ(Count(ColumnFamily::kSnapshots), 1u);
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();

  ASSERT_TRUE(store_->DeleteFunction("acme", "b").ok());
  EXPECT_EQ(Count(ColumnFamily::kBundles), 0u);
  EXPECT_EQ(Count(ColumnFamily::kSnapshots), 0u);
  EXPECT_EQ(Count(ColumnFamily::kVersions), 0u);
  EXPECT_EQ(Count(ColumnFamily::kRefs), 0u);
}

TEST_F(RocksDbStoreTest, SharedBundleAcrossTenantsSurvivesDelete) {
  NewTenant("acme");
  NewTenant("globex");
  kiln::v1::Bundle shared = testing::OneFileBundle("hello world");
  ASSERT_TRUE(Deploy("acme", "hello", shared).ok());
  ASSERT_TRUE(Deploy("globex", "hello", shared).ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "hello").ok());
  EXPECT_TRUE(store_->GetBundle(BundleSha256(shared)).ok());
  EXPECT_TRUE(store_->GetSnapshot(BundleSha256(shared), kFingerprint).ok());
  EXPECT_TRUE(store_->GetFunction("globex", "hello").ok());
}

TEST_F(RocksDbStoreTest, SnapshotOfAnotherRuntimeIsCollectedSeparately) {
  NewTenant("acme");
  kiln::v1::Bundle shared = testing::OneFileBundle("x");
  ASSERT_TRUE(Deploy("acme", "a", shared, {}, "runtime-1").ok());
  ASSERT_TRUE(Deploy("acme", "b", shared, {}, "runtime-2").ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_TRUE(store_->GetBundle(BundleSha256(shared)).ok());
  EXPECT_THAT(store_->GetSnapshot(BundleSha256(shared), "runtime-1").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(store_->GetSnapshot(BundleSha256(shared), "runtime-2").ok());
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
}

TEST_F(RocksDbStoreTest, DeleteUnknownFunctionIsNotFound) {
  NewTenant("acme");
  EXPECT_THAT(store_->DeleteFunction("acme", "ghost"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_TRUE(Deploy("acme", "a", "x").ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_THAT(store_->DeleteFunction("acme", "a"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RocksDbStoreTest, RedeployAfterDeleteNeverReusesAVersionNumber) {
  NewTenant("acme");
  ASSERT_TRUE(Deploy("acme", "a", "one").ok());
  ASSERT_TRUE(Deploy("acme", "a", "two").ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_THAT(*store_->ListFunctions("acme"), IsEmpty());
  Reopen();
  absl::StatusOr<VersionRecord> again = Deploy("acme", "a", "three");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, 3u);
  EXPECT_THAT(VersionNumbers("acme", "a"), ElementsAre(3));
  EXPECT_THAT(store_->Rollback("acme", "a", 0).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(store_->VerifyIntegrity().ok()) << store_->VerifyIntegrity();
}

// ---- tenant isolation --------------------------------------------------------

TEST_F(RocksDbStoreTest, TenantsCannotSeeEachOthersFunctions) {
  NewTenant("a");
  NewTenant("b");
  NewTenant("a-b");  // a prefix of neither, but shares "a"
  ASSERT_TRUE(Deploy("a", "f", "a's f").ok());
  ASSERT_TRUE(Deploy("a-b", "g", "a-b's g").ok());

  EXPECT_THAT(store_->GetFunction("b", "f").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetVersion("b", "f", 1).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ListVersions("b", "f").status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Rollback("b", "f", 1).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->DeleteFunction("b", "f"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(*store_->ListFunctions("b"), IsEmpty());

  std::vector<std::string> names;
  std::vector<FunctionRecord> listed = store_->ListFunctions("a").value();
  for (const FunctionRecord& f : listed) names.push_back(f.name);
  EXPECT_THAT(names, ElementsAre("f"));
  names.clear();
  listed = store_->ListFunctions("a-b").value();
  for (const FunctionRecord& f : listed) names.push_back(f.name);
  EXPECT_THAT(names, ElementsAre("g"));

  // B's own "f" is independent: numbered from 1, A's untouched.
  ASSERT_TRUE(Deploy("b", "f", "b's f").ok());
  EXPECT_EQ(store_->GetVersion("b", "f", 1)->bundle_sha256,
            BundleSha256(testing::OneFileBundle("b's f")));
  EXPECT_EQ(store_->GetVersion("a", "f", 1)->bundle_sha256,
            BundleSha256(testing::OneFileBundle("a's f")));
  ASSERT_TRUE(store_->DeleteFunction("b", "f").ok());
  EXPECT_TRUE(store_->GetFunction("a", "f").ok());
}

// ---- tenants and tokens ------------------------------------------------------

TEST_F(RocksDbStoreTest, TokensAuthenticateTheirTenantOnly) {
  std::string acme = NewTenant("acme");
  std::string globex = NewTenant("globex");
  EXPECT_EQ(acme.rfind("kiln_acme_", 0), 0u);
  EXPECT_EQ(*store_->Authenticate(acme), "acme");
  EXPECT_EQ(*store_->Authenticate(globex), "globex");

  std::string wrong = acme;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_THAT(store_->Authenticate(wrong).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  // globex's secret part under acme's name.
  std::string spliced = "kiln_acme_" + globex.substr(std::string("kiln_globex_").size());
  EXPECT_THAT(store_->Authenticate(spliced).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Authenticate("kiln_nobody_" + std::string(64, 'a')).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Authenticate("").status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Authenticate("garbage").status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Reopen();
  EXPECT_EQ(*store_->Authenticate(acme), "acme");
}

TEST_F(RocksDbStoreTest, TokenIsNeverStoredInClear) {
  std::string token = NewTenant("acme");
  std::string secret_part = token.substr(token.rfind('_') + 1);
  std::string raw_secret = absl::HexStringToBytes(secret_part);
  ASSERT_TRUE(Deploy("acme", "a", "x").ok());
  store_.reset();

  // Not in any key or value...
  std::unique_ptr<testing::RawDb> raw = testing::RawDb::Open(dir_);
  for (const auto& [key, value] : raw->Everything()) {
    for (const std::string& needle : {token, secret_part, raw_secret}) {
      EXPECT_EQ(key.find(needle), std::string::npos);
      EXPECT_EQ(value.find(needle), std::string::npos);
    }
  }
  // ...only its hash.
  std::vector<std::pair<std::string, std::string>> tenants = raw->All(ColumnFamily::kTenants);
  ASSERT_EQ(tenants.size(), 1u);
  std::array<uint8_t, 32> hash = Sha256(token);
  EXPECT_NE(tenants[0].second.find(std::string(reinterpret_cast<const char*>(hash.data()), 32)),
            std::string::npos);
  raw.reset();
  // ...nor in any file of the data dir (WAL, SSTs, MANIFEST, LOG).
  for (const auto& [path, bytes] : testing::ReadAllFiles(dir_)) {
    for (const std::string& needle : {token, secret_part, raw_secret}) {
      EXPECT_EQ(bytes.find(needle), std::string::npos) << path;
    }
  }
}

TEST_F(RocksDbStoreTest, CreateTenantErrors) {
  NewTenant("acme");
  EXPECT_THAT(store_->CreateTenant("acme").status(), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->CreateTenant("Acme").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->CreateTenant("a_b").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> names;
  std::vector<TenantRecord> tenants = store_->ListTenants().value();
  for (const TenantRecord& t : tenants) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("acme"));
}

TEST_F(RocksDbStoreTest, DefaultTenantTokenIsHandedOutOnce) {
  absl::StatusOr<std::optional<std::string>> first = store_->EnsureDefaultTenant();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(*store_->Authenticate(**first), "default");
  absl::StatusOr<std::optional<std::string>> second = store_->EnsureDefaultTenant();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  Reopen();
  EXPECT_FALSE(store_->EnsureDefaultTenant()->has_value());
  EXPECT_EQ(*store_->Authenticate(**first), "default");
}

TEST_F(RocksDbStoreTest, RotateTokenReplacesTheOldOne) {
  std::string old_token = NewTenant("acme");
  absl::StatusOr<std::string> new_token = store_->RotateToken("acme");
  ASSERT_TRUE(new_token.ok()) << new_token.status();
  EXPECT_NE(*new_token, old_token);
  EXPECT_THAT(store_->Authenticate(old_token).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(*store_->Authenticate(*new_token), "acme");
  EXPECT_THAT(store_->RotateToken("nobody").status(), StatusIs(absl::StatusCode::kNotFound));
}

// ---- secrets -----------------------------------------------------------------

TEST_F(RocksDbStoreTest, SecretsSetListResolveDelete) {
  NewTenant("acme");
  NewTenant("globex");
  ASSERT_TRUE(store_->SetSecret("acme", "API_KEY", "k1").ok());
  ASSERT_TRUE(store_->SetSecret("acme", "DB_URL", "postgres://x").ok());
  ASSERT_TRUE(store_->SetSecret("acme", "API_KEY", "k2").ok());  // replace
  ASSERT_TRUE(store_->SetSecret("globex", "API_KEY", "globex's").ok());
  EXPECT_THAT(*store_->ListSecretNames("acme"), ElementsAre("API_KEY", "DB_URL"));

  kiln::v1::FunctionConfig config;
  config.add_secret_names("API_KEY");
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> values =
      store_->ResolveSecrets("acme", config);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values,
              UnorderedElementsAre(std::pair<const std::string, std::string>("API_KEY", "k2")));
  EXPECT_EQ(store_->ResolveSecrets("globex", config)->at("API_KEY"), "globex's");

  config.add_secret_names("MISSING");
  EXPECT_THAT(store_->ResolveSecrets("acme", config).status(),
              StatusIs(absl::StatusCode::kNotFound, "\"MISSING\""));

  ASSERT_TRUE(store_->DeleteSecret("acme", "API_KEY").ok());
  EXPECT_THAT(*store_->ListSecretNames("acme"), ElementsAre("DB_URL"));
  EXPECT_THAT(store_->DeleteSecret("acme", "API_KEY"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(*store_->ListSecretNames("globex"), ElementsAre("API_KEY"));
  Reopen();
  EXPECT_THAT(*store_->ListSecretNames("acme"), ElementsAre("DB_URL"));
}

TEST_F(RocksDbStoreTest, SecretErrors) {
  NewTenant("acme");
  EXPECT_THAT(store_->SetSecret("nobody", "K", "v"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->SetSecret("acme", "not-valid", "v"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->SetSecret("acme", "K", std::string(5121, 'v')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RocksDbStoreTest, SecretsOutliveFunctionDeletes) {
  NewTenant("acme");
  ASSERT_TRUE(store_->SetSecret("acme", "K", "v").ok());
  ASSERT_TRUE(Deploy("acme", "a", "x").ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "a").ok());
  EXPECT_THAT(*store_->ListSecretNames("acme"), ElementsAre("K"));
}

// ---- startup load ------------------------------------------------------------

TEST_F(RocksDbStoreTest, ForEachFunctionVisitsLiveFunctionsWithTheirActiveVersion) {
  NewTenant("acme");
  NewTenant("globex");
  ASSERT_TRUE(Deploy("acme", "a", "a1").ok());
  ASSERT_TRUE(Deploy("acme", "a", "a2").ok());
  ASSERT_TRUE(store_->Rollback("acme", "a", 1).ok());
  ASSERT_TRUE(Deploy("acme", "gone", "g").ok());
  ASSERT_TRUE(store_->DeleteFunction("acme", "gone").ok());
  ASSERT_TRUE(Deploy("globex", "z", "z1").ok());
  Reopen();

  std::vector<std::string> seen;
  absl::Status status =
      store_->ForEachFunction([&](const FunctionRecord& f, const VersionRecord& active) {
        EXPECT_EQ(active.version, f.active_version);
        EXPECT_EQ(active.tenant, f.tenant);
        seen.push_back(absl::StrCat(f.tenant, "/", f.name, "@", active.version, ":",
                                    active.bundle_sha256.substr(0, 8)));
        return absl::OkStatus();
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(
      seen,
      ElementsAre(
          absl::StrCat("acme/a@1:", BundleSha256(testing::OneFileBundle("a1")).substr(0, 8)),
          absl::StrCat("globex/z@1:", BundleSha256(testing::OneFileBundle("z1")).substr(0, 8))));

  // The callback's error stops the walk and comes back.
  int calls = 0;
  EXPECT_THAT(store_->ForEachFunction([&](const FunctionRecord&, const VersionRecord&) {
    ++calls;
    return absl::AbortedError("stop");
  }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kiln::scheduler
