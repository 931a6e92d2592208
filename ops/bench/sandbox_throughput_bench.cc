// What the worker's seccomp policy costs a serving worker: warm invocation
// throughput of a no-op fetch handler through WorkerRuntime (executor hand-off,
// watchdog, isolate pool: the syscall-heavy path), in a child process that
// confined itself with ConfineWorker() against one that did not, alternated
// in one run, with the ratio.
//
//   bazel run -c opt //ops/bench:sandbox_throughput_bench -- [seconds per run] [runs]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "sandbox/confine.h"
#include "worker/api/natives.h"
#include "worker/runtime/runtime.h"

namespace {

using namespace kiln::worker;

// Runs in a fresh child: build, load, warm, optionally confine, then measure.
double MeasureInChild(bool confined, absl::Duration duration) {
  // Builds run in a builder child, as in kiln-worker: V8 refuses to build a
  // snapshot in a process with live isolates (the pool pre-boots spares).
  const uint64_t seed = 0x6b696c6e;
  auto builder = BuilderProcess::Start(api::KilnRuntime(), {.hash_seed = seed});
  if (!builder.ok()) return -1;
  WorkerRuntime runtime(api::KilnRuntime(), {.executors = 2, .hash_seed = seed, .builder = builder->get()});
  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = "export default { fetch() { return new Response('ok'); } };";
  auto built = runtime.Build(bundle);
  if (!built.ok()) return -1;
  FunctionKey key{"bench", "noop", 1};
  if (!runtime.Load(key, built->blob).ok()) return -1;
  if (!runtime.WarmUp().ok()) return -1;
  if (confined && !kiln::sandbox::ConfineWorker({}).ok()) return -1;
  HttpRequest request;
  request.url = "http://noop.bench.localhost/";
  std::atomic<long> calls{0};
  std::atomic<bool> stop{false};
  auto client = [&] {
    while (!stop) {
      absl::Notification done;
      runtime.Invoke(key, request, "r", [&](InvocationOutcome) { done.Notify(); });
      done.WaitForNotification();
      calls++;
    }
  };
  // Warm up, then count.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(client);
  absl::SleepFor(absl::Milliseconds(300));
  long start = calls.load();
  absl::Time t0 = absl::Now();
  absl::SleepFor(duration);
  long counted = calls.load() - start;
  double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  stop = true;
  for (auto& t : threads) t.join();
  return counted / seconds;
}

double RunChild(bool confined, absl::Duration duration) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    double rate = MeasureInChild(confined, duration);
    if (write(fds[1], &rate, sizeof(rate)) != sizeof(rate)) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  double rate = -1;
  if (read(fds[0], &rate, sizeof(rate)) != sizeof(rate)) rate = -1;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s child failed (status %d)\n", confined ? "confined" : "unconfined", status);
    return -1;
  }
  return rate;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const absl::Duration duration = absl::Seconds(argc > 1 ? std::atof(argv[1]) : 3);
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<double> open_rates, confined_rates;
  for (int i = 0; i < runs; ++i) {
    open_rates.push_back(RunChild(false, duration));
    confined_rates.push_back(RunChild(true, duration));
    std::printf("run %d: unconfined %.0f/s, confined %.0f/s\n", i + 1, open_rates.back(), confined_rates.back());
  }
  double open = Median(open_rates), confined = Median(confined_rates);
  std::printf("\nwarm no-op fetch via WorkerRuntime::Invoke, 4 closed-loop callers, 2 executors, median of %d x %.0f s\n",
              runs, absl::ToDoubleSeconds(duration));
  std::printf("  unconfined                 %9.0f invocations/s\n", open);
  std::printf("  confined (WorkerPolicy)    %9.0f invocations/s\n", confined);
  std::printf("  confined / unconfined      %9.3f  (%+.1f%%)\n", confined / open, (confined / open - 1) * 100);
  return 0;
}
