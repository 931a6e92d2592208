// Crash durability of the deploy commit: a child process (testcases/
// crash_writer) commits deploys and reports each acknowledged version on a
// pipe; the test SIGKILLs it at random moments, restarts it, and repeats until
// at least 200 versions were acknowledged. Then it reopens the data dir and
// checks that every acknowledged version is present and byte-identical, and
// that nothing is half-visible: every version that exists is complete (bundle,
// snapshot, refs entry, counter above it) and the store's invariants hold.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "scheduler/store/rocksdb_store.h"
#include "scheduler/store/store_test_util.h"

namespace kiln::scheduler {
namespace {

constexpr size_t kAcknowledgedTarget = 200;
constexpr int kMaxRounds = 60;

std::string WriterPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "kiln",
                      "/scheduler/store/testcases/crash_writer");
}

struct Round {
  std::vector<std::pair<std::string, uint64_t>> acknowledged;
  bool killed = false;
  int wait_status = 0;
};

// Runs the writer once and SIGKILLs it after `kill_after` acknowledgements
// plus `extra` of wall time (kill_after 0: `extra` after start, possibly while
// it is still opening the store).
Round RunWriter(const std::string& dir, int kill_after, absl::Duration extra) {
  Round round;
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << errno;
    return round;
  }
  static const std::string path = WriterPath();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(path.c_str(), path.c_str(), dir.c_str(), "100000", nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string buffer;
  auto kill_now = [&] {
    if (!round.killed) {
      kill(pid, SIGKILL);
      round.killed = true;
    }
  };
  auto take_lines = [&] {
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::vector<std::string> parts = absl::StrSplit(buffer.substr(0, newline), ' ');
      uint64_t version = 0;
      if (parts.size() == 2 && absl::SimpleAtoi(parts[1], &version)) {
        round.acknowledged.emplace_back(parts[0], version);
      } else {
        ADD_FAILURE() << "bad line from writer: " << buffer.substr(0, newline);
      }
      buffer.erase(0, newline + 1);
    }
  };
  if (kill_after == 0) {
    absl::SleepFor(extra);
    kill_now();
  }
  char chunk[4096];
  while (true) {
    ssize_t n = read(fds[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the writer is gone
    buffer.append(chunk, n);
    take_lines();
    if (!round.killed && static_cast<int>(round.acknowledged.size()) >= kill_after) {
      absl::SleepFor(extra);
      kill_now();  // lines already in the pipe are still read: they were acknowledged
    }
  }
  close(fds[0]);
  waitpid(pid, &round.wait_status, 0);
  return round;
}

TEST(CrashTest, AcknowledgedDeploysSurviveSigkillAndNothingIsHalfVisible) {
  const std::string dir = testing::TestDir();
  std::mt19937 random(std::random_device{}());
  std::set<std::pair<std::string, uint64_t>> acknowledged;
  int rounds = 0;
  int killed_mid_open = 0;
  while (acknowledged.size() < kAcknowledgedTarget && rounds < kMaxRounds) {
    ++rounds;
    // Every fourth round dies within its first milliseconds (during open or
    // the first commit); the others after 1..30 acknowledgements plus 0..4 ms,
    // so the kill lands at any point of a commit.
    bool early = rounds % 4 == 1;
    int kill_after = early ? 0 : std::uniform_int_distribution<int>(1, 30)(random);
    absl::Duration extra = absl::Microseconds(std::uniform_int_distribution<int>(0, 4000)(random));
    Round round = RunWriter(dir, kill_after, extra);
    if (early && round.acknowledged.empty()) ++killed_mid_open;
    if (!round.killed || !WIFSIGNALED(round.wait_status)) {
      FAIL() << "writer ended on its own in round " << rounds << " (wait status "
             << round.wait_status << "); see its stderr above";
    }
    for (const auto& ack : round.acknowledged) {
      EXPECT_TRUE(acknowledged.insert(ack).second)
          << ack.first << " v" << ack.second << " acknowledged twice";
    }
  }
  ASSERT_GE(acknowledged.size(), kAcknowledgedTarget) << "after " << rounds << " rounds";
  std::printf("%zu versions acknowledged over %d SIGKILLed writers (%d killed before a commit)\n",
              acknowledged.size(), rounds, killed_mid_open);

  absl::StatusOr<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::Open({.path = dir});
  ASSERT_TRUE(opened.ok()) << opened.status();
  RocksDbStore& store = **opened;
  absl::Status integrity = store.VerifyIntegrity();
  ASSERT_TRUE(integrity.ok()) << integrity;

  // Every acknowledged version: present, byte-identical.
  for (const auto& [name, version] : acknowledged) {
    absl::StatusOr<VersionRecord> record = store.GetVersion("crash", name, version);
    ASSERT_TRUE(record.ok()) << name << " v" << version << ": " << record.status();
    kiln::v1::Bundle expected = testing::CrashBundle(name, version);
    ASSERT_EQ(record->bundle_sha256, BundleSha256(expected)) << name << " v" << version;
    absl::StatusOr<kiln::v1::Bundle> bundle = store.GetBundle(record->bundle_sha256);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    EXPECT_EQ(bundle->SerializeAsString(), CanonicalBundleBytes(expected));
    absl::StatusOr<std::string> snapshot =
        store.GetSnapshot(record->bundle_sha256, record->runtime_fingerprint);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(*snapshot, testing::CrashSnapshot(name, version));
    EXPECT_EQ(record->config.vars().at("MODE"), "crash");
  }

  // Every version that exists (acknowledged or committed just before a kill):
  // numbered 1..n without gaps, complete, the newest active, the counter above.
  for (const std::string name : {"f0", "f1", "f2"}) {
    absl::StatusOr<FunctionRecord> function = store.GetFunction("crash", name);
    ASSERT_TRUE(function.ok()) << name << ": " << function.status();
    absl::StatusOr<std::vector<VersionRecord>> versions = store.ListVersions("crash", name);
    ASSERT_TRUE(versions.ok()) << versions.status();
    ASSERT_FALSE(versions->empty());
    for (size_t i = 0; i < versions->size(); ++i) {
      const VersionRecord& v = (*versions)[i];
      EXPECT_EQ(v.version, i + 1) << name;
      EXPECT_EQ(v.bundle_sha256, BundleSha256(testing::CrashBundle(name, v.version)));
      absl::StatusOr<std::string> snapshot =
          store.GetSnapshot(v.bundle_sha256, v.runtime_fingerprint);
      ASSERT_TRUE(snapshot.ok()) << name << " v" << v.version << ": " << snapshot.status();
      EXPECT_EQ(*snapshot, testing::CrashSnapshot(name, v.version));
    }
    EXPECT_EQ(function->active_version, versions->back().version) << name;
    EXPECT_EQ(function->next_version, versions->back().version + 1) << name;
    uint64_t acknowledged_max = 0;
    for (const auto& [n, v] : acknowledged) {
      if (n == name) acknowledged_max = std::max(acknowledged_max, v);
    }
    // At most one commit per writer can land without being acknowledged.
    EXPECT_GE(versions->back().version, acknowledged_max);
    EXPECT_LE(versions->back().version, acknowledged_max + static_cast<uint64_t>(rounds));
  }
}

}  // namespace
}  // namespace kiln::scheduler
