// crash_test's child: opens the store in argv[1], makes sure tenant "crash"
// exists, then commits deploys to functions f0, f1, f2 in turn, up to argv[2]
// of them. After each CommitDeploy returns OK it writes "<function> <version>\n"
// to stdout with one write(2): a line the parent reads is an acknowledged,
// durable version. Contents are testing::CrashBundle / CrashSnapshot of
// (function, version), so the parent can check them byte for byte.
// Exits 0 after the last deploy, 2 on usage errors, 3 on a store error.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scheduler/store/rocksdb_store.h"
#include "scheduler/store/store_test_util.h"

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "crash_writer: %s\n", status.ToString().c_str());
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiln::scheduler;
  int count = 0;
  if (argc != 3 || !absl::SimpleAtoi(argv[2], &count)) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR COUNT\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = argv[1]});
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<std::string> token = (*store)->CreateTenant("crash");
  if (!token.ok() && !absl::IsAlreadyExists(token.status())) return Fail(token.status());

  kiln::v1::FunctionConfig config;
  (*config.mutable_vars())["MODE"] = "crash";
  for (int i = 0; i < count; ++i) {
    std::string name = absl::StrCat("f", i % 3);
    absl::StatusOr<FunctionRecord> function = (*store)->GetFunction("crash", name);
    if (!function.ok() && !absl::IsNotFound(function.status())) return Fail(function.status());
    uint64_t version = function.ok() ? function->next_version : 1;
    kiln::v1::Bundle bundle = testing::CrashBundle(name, version);
    std::string snapshot = testing::CrashSnapshot(name, version);
    absl::StatusOr<VersionRecord> committed =
        (*store)->CommitDeploy({.tenant = "crash",
                                .name = name,
                                .bundle = bundle,
                                .config = config,
                                .runtime_fingerprint = testing::kCrashFingerprint,
                                .snapshot = snapshot});
    if (!committed.ok()) return Fail(committed.status());
    if (committed->version != version) {
      return Fail(absl::InternalError(
          absl::StrCat("expected version ", version, ", got ", committed->version)));
    }
    std::string line = absl::StrCat(name, " ", version, "\n");
    if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return 4;
    }
  }
  return 0;
}
