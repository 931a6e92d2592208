// Crash durability of deploys through the whole scheduler: deploy small
// distinct bundles over kiln.v1.Control while a killer thread SIGKILLs the
// kiln-scheduler at random moments (its workers die with it), restart it, and
// repeat until 200 deploys were acknowledged. Then, after a clean restart:
// every acknowledged version is listed with the bundle hash it was
// acknowledged with, and serves the marker its bundle returns; every version
// that exists at all (acknowledged or not) is one of the bundles sent for
// that function and serves it -- nothing is half-visible.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "scheduler/store/digest.h"
#include "test/scheduler/scheduler_harness.h"

namespace kiln::test {
namespace {

constexpr size_t kAcknowledgedTarget = 200;
constexpr int kFunctions = 8;
constexpr int kMaxRounds = 60;

std::string Source(const std::string& marker) {
  return absl::StrCat("export default { fetch() { return new Response('", marker, "'); } };\n");
}

TEST(DeployCrashTest, AcknowledgedDeploysSurviveSigkill) {
  const std::string data = ::testing::TempDir() + "/deploy_crash/data";
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE(absl::StrCat("seed ", seed));

  struct Acked {
    std::string marker;
    std::string sha;
  };
  std::map<std::pair<std::string, uint64_t>, Acked> acked;         // (function, version)
  std::map<std::string, std::map<std::string, std::string>> sent;  // function -> sha -> marker
  int deploys = 0, kills = 0, rounds = 0;
  const absl::Time started = absl::Now();

  while (acked.size() < kAcknowledgedTarget && rounds < kMaxRounds) {
    ++rounds;
    std::unique_ptr<SchedulerProcess> scheduler = SchedulerProcess::Start(data, {.workers = 1});
    ASSERT_NE(scheduler, nullptr);
    ControlClient kiln(scheduler->address(), scheduler->DefaultToken());

    // The killer strikes at a random moment of this round (most rounds), or
    // never (when the target is reached first).
    const absl::Duration kill_after =
        absl::Milliseconds(std::uniform_int_distribution<int>(50, 1200)(rng));
    absl::Mutex mu;
    bool round_over = false;
    bool killed = false;
    absl::Time killed_at = absl::InfiniteFuture();
    std::thread killer([&] {
      absl::MutexLock lock(&mu);
      if (!mu.AwaitWithTimeout(absl::Condition(&round_over), kill_after)) {
        killed_at = absl::Now();
        scheduler->process().Signal(SIGKILL);
        killed = true;
      }
    });

    while (acked.size() < kAcknowledgedTarget) {
      const std::string function = absl::StrCat("f", deploys % kFunctions);
      const std::string marker = absl::StrCat("deploy-", deploys, "-", seed);
      ++deploys;
      const kiln::v1::Bundle bundle = OneFileBundle(Source(marker));
      const std::string sha = scheduler::BundleSha256(bundle);
      sent[function][sha] = marker;
      kiln::v1::DeployResponse response;
      grpc::Status status = kiln.Deploy(function, bundle, &response);
      if (!status.ok()) {
        // Only the kill may fail a deploy.
        const absl::Time failed_at = absl::Now();
        absl::MutexLock lock(&mu);
        mu.AwaitWithTimeout(absl::Condition(&killed), absl::Seconds(5));
        ASSERT_TRUE(killed && killed_at <= failed_at)
            << "deploy failed without a kill: " << status.error_message();
        break;
      }
      EXPECT_EQ(response.bundle_sha256(), sha);
      auto [it, inserted] = acked.try_emplace({function, response.version()}, Acked{marker, sha});
      EXPECT_TRUE(inserted) << function << " version " << response.version()
                            << " acknowledged twice";
    }
    {
      absl::MutexLock lock(&mu);
      round_over = true;
    }
    killer.join();
    if (killed) {
      ++kills;
      ASSERT_TRUE(scheduler->process().Wait(absl::Seconds(10)).has_value());
    } else {
      scheduler->process().Signal(SIGTERM);
      ASSERT_TRUE(scheduler->process().Wait(absl::Seconds(20)).has_value());
    }
  }
  ASSERT_GE(acked.size(), kAcknowledgedTarget) << "after " << rounds << " rounds";
  EXPECT_GE(kills, 3) << "too few kills to mean anything";
  std::printf("%zu acknowledged of %d deploys, %d kills in %d rounds, %.1f s\n", acked.size(),
              deploys, kills, rounds, absl::ToDoubleSeconds(absl::Now() - started));

  std::unique_ptr<SchedulerProcess> scheduler = SchedulerProcess::Start(data, {.workers = 1});
  ASSERT_NE(scheduler, nullptr);
  ControlClient kiln(scheduler->address(), scheduler->DefaultToken());
  int served = 0, unacknowledged = 0;
  for (int f = 0; f < kFunctions; ++f) {
    const std::string function = absl::StrCat("f", f);
    kiln::v1::ListVersionsResponse versions;
    ASSERT_TRUE(kiln.Versions(function, &versions).ok()) << function;
    std::map<uint64_t, std::string> listed;
    for (const kiln::v1::VersionInfo& v : versions.versions())
      listed[v.version()] = v.bundle_sha256();
    ASSERT_FALSE(listed.empty());
    EXPECT_EQ(versions.active_version(), listed.rbegin()->first) << function;
    for (const auto& [key, ack] : acked) {
      if (key.first != function) continue;
      auto it = listed.find(key.second);
      ASSERT_NE(it, listed.end()) << function << " lost acknowledged version " << key.second;
      EXPECT_EQ(it->second, ack.sha) << function << " version " << key.second;
    }
    for (const auto& [version, sha] : listed) {
      auto marker = sent[function].find(sha);
      ASSERT_NE(marker, sent[function].end())
          << function << " version " << version << " has a bundle never sent";
      if (!acked.contains({function, version})) ++unacknowledged;
      kiln::v1::InvokeResponse invoked;
      grpc::Status status = kiln.Invoke(function, "/", &invoked, version);
      ASSERT_TRUE(status.ok()) << function << " version " << version << ": "
                               << status.error_message();
      EXPECT_EQ(Body(invoked), marker->second) << function << " version " << version;
      ++served;
    }
  }
  std::printf("%d versions served after the last restart (%d committed but not acknowledged)\n",
              served, unacknowledged);
}

}  // namespace
}  // namespace kiln::test
