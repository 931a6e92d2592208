// Worker failures under a real kiln-scheduler: a worker SIGKILLed in the
// middle of invocations (every caller answered within a second, never a hang;
// the next invocation runs elsewhere), a worker silent for three heartbeats
// (SIGSTOP) declared dead and replaced, workers of the wrong runtime refused,
// a remote worker joining with the cluster's seed, and a graceful shutdown
// that finishes in-flight work.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/scheduler/scheduler_harness.h"

namespace kiln::test {
namespace {

using ::testing::HasSubstr;

// Answers /fast at once and /slow after a 2 s timer.
constexpr char kSleepy[] = R"JS(
export default {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === '/slow') await new Promise((resolve) => setTimeout(resolve, 2000));
    return new Response('done ' + path);
  },
};
)JS";

struct Answer {
  grpc::Status status;
  kiln::v1::InvokeResponse response;
  absl::Time at;
};

class WorkerFailureTest : public ::testing::Test {
 protected:
  void Start(SchedulerOptions options) {
    data_ = absl::StrCat(::testing::TempDir(), "/",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/data");
    std::filesystem::remove_all(data_);
    std::filesystem::create_directories(data_);
    scheduler_ = SchedulerProcess::Start(data_, options);
    ASSERT_NE(scheduler_, nullptr);
    kiln_ = std::make_unique<ControlClient>(scheduler_->address(), scheduler_->DefaultToken());
  }

  // Deploys kSleepy and warms it: the worker that ran /fast, and its pid.
  std::pair<std::string, pid_t> DeployAndWarm() {
    kiln::v1::DeployResponse deployed;
    grpc::Status status = kiln_->Deploy("sleepy", kSleepy, &deployed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    kiln::v1::InvokeResponse invoked;
    status = kiln_->Invoke("sleepy", "/fast", &invoked);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Body(invoked), "done /fast");
    const std::string worker = invoked.worker_id();
    pid_t pid = scheduler_->WorkerPids()[worker];
    EXPECT_GT(pid, 0) << worker;
    return {worker, pid};
  }

  // Starts `n` invocations of /slow on threads; their answers land in `answers`.
  std::vector<std::thread> InvokeSlow(int n, std::vector<Answer>& answers) {
    answers.resize(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this, i, &answers] {
        ControlClient client(scheduler_->address(), scheduler_->DefaultToken());
        answers[i].status =
            client.Invoke("sleepy", "/slow", &answers[i].response, 0, "", absl::Seconds(30));
        answers[i].at = absl::Now();
      });
    }
    return threads;
  }

  // Waits until the worker id is served by a process other than `old_pid`.
  pid_t AwaitReplacement(const std::string& worker, pid_t old_pid) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto pids = scheduler_->WorkerPids();
      if (pids.contains(worker) && pids[worker] != old_pid) return pids[worker];
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

  std::string data_;
  std::unique_ptr<SchedulerProcess> scheduler_;
  std::unique_ptr<ControlClient> kiln_;
};

TEST_F(WorkerFailureTest, AKilledWorkersCallersAreAnsweredWithinASecond) {
  Start({.workers = 2});
  auto [worker, pid] = DeployAndWarm();
  ASSERT_GT(pid, 0);

  std::vector<Answer> answers;
  std::vector<std::thread> callers = InvokeSlow(4, answers);
  absl::SleepFor(absl::Milliseconds(500));  // all four are running on the warm worker
  const absl::Time killed = absl::Now();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (std::thread& caller : callers) caller.join();
  for (const Answer& answer : answers) {
    EXPECT_LT(answer.at - killed, absl::Seconds(1))
        << "answered " << (answer.at - killed) << " after the kill";
    ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
    ASSERT_TRUE(answer.response.result().has_error()) << answer.response.DebugString();
    EXPECT_EQ(answer.response.result().error().kind(), kiln::v1::InvocationError::WORKER_LOST);
    EXPECT_EQ(answer.response.worker_id(), worker);
    EXPECT_FALSE(answer.response.request_id().empty());
  }

  // The next invocation runs, on another worker.
  kiln::v1::InvokeResponse invoked;
  grpc::Status status = kiln_->Invoke("sleepy", "/fast", &invoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Body(invoked), "done /fast");
  EXPECT_NE(invoked.worker_id(), worker);

  // The supervisor restarts the dead worker.
  EXPECT_GT(AwaitReplacement(worker, pid), 0);
}

TEST_F(WorkerFailureTest, AWorkerSilentForThreeHeartbeatsIsDead) {
  Start({.workers = 2, .heartbeat_ms = 200});
  auto [worker, pid] = DeployAndWarm();
  ASSERT_GT(pid, 0);

  std::vector<Answer> answers;
  std::vector<std::thread> callers = InvokeSlow(1, answers);
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time stopped = absl::Now();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  for (std::thread& caller : callers) caller.join();
  const Answer& answer = answers[0];
  // Dead after three missed heartbeats (600 ms), not before two.
  EXPECT_GE(answer.at - stopped, absl::Milliseconds(400));
  EXPECT_LT(answer.at - stopped, absl::Milliseconds(1500));
  ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
  EXPECT_EQ(answer.response.result().error().kind(), kiln::v1::InvocationError::WORKER_LOST);
  EXPECT_THAT(answer.response.result().error().message(), HasSubstr("silent for 3 heartbeats"));

  // Its placements moved: the function runs on the other worker right away.
  kiln::v1::InvokeResponse invoked;
  ASSERT_TRUE(kiln_->Invoke("sleepy", "/fast", &invoked).ok());
  EXPECT_EQ(Body(invoked), "done /fast");
  EXPECT_NE(invoked.worker_id(), worker);

  // The stopped process is killed and replaced.
  EXPECT_GT(AwaitReplacement(worker, pid), 0);
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(pid)));
}

TEST_F(WorkerFailureTest, WorkersOfAnotherRuntimeAreRefusedAndTheClusterSeedJoins) {
  Start({.workers = 0, .build_workers = 1});
  // The cluster's seed, as remote workers get it.
  std::ifstream env_file(data_ + "/worker.env");
  std::string env((std::istreambuf_iterator<char>(env_file)), std::istreambuf_iterator<char>());
  ASSERT_THAT(env, ::testing::StartsWith("KILN_HASH_SEED="));
  const std::string seed(absl::StripTrailingAsciiWhitespace(env.substr(env.find('=') + 1)));

  const std::string worker = RunfilePath("worker/server/kiln-worker");
  Subprocess stranger =
      Subprocess::Start({worker, "--scheduler", scheduler_->address(), "--worker-id", "stranger",
                         "--hash-seed", "12345", "--executors", "1"});
  std::optional<int> exit = stranger.Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value()) << "a worker of another runtime was not refused";
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 1);

  Subprocess remote =
      Subprocess::Start({worker, "--scheduler", scheduler_->address(), "--worker-id", "remote-1",
                         "--hash-seed", seed, "--executors", "1"});
  kiln::v1::DeployResponse deployed;
  ASSERT_TRUE(kiln_->Deploy("sleepy", kSleepy, &deployed).ok());
  kiln::v1::InvokeResponse invoked;
  grpc::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {  // Unavailable until the remote worker has registered
    status = kiln_->Invoke("sleepy", "/fast", &invoked);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE)
      absl::SleepFor(absl::Milliseconds(50));
  } while (status.error_code() == grpc::StatusCode::UNAVAILABLE && absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Body(invoked), "done /fast");
  EXPECT_EQ(invoked.worker_id(), "remote-1");
}

TEST_F(WorkerFailureTest, ShutdownFinishesInFlightWorkAndExitsZero) {
  Start({.workers = 1});
  auto [worker, pid] = DeployAndWarm();
  std::vector<Answer> answers;
  std::vector<std::thread> callers = InvokeSlow(2, answers);
  absl::SleepFor(absl::Milliseconds(300));
  scheduler_->process().Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(100));
  // New work is refused while draining.
  kiln::v1::InvokeResponse refused;
  EXPECT_EQ(kiln_->Invoke("sleepy", "/fast", &refused).error_code(), grpc::StatusCode::UNAVAILABLE);
  for (std::thread& caller : callers) caller.join();
  for (const Answer& answer : answers) {
    ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
    EXPECT_EQ(Body(answer.response), "done /slow");
  }
  std::optional<int> exit = scheduler_->process().Wait(absl::Seconds(15));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(pid)));
}

}  // namespace
}  // namespace kiln::test
