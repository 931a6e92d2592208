// What the worker seccomp policy costs per allowed syscall: the same syscall
// loops run unfiltered (this process) and filtered (a forked child that applied
// WorkerPolicy()), in one run, with the ratio and the added nanoseconds.
//
//   bazel run //ops/bench:seccomp_bench -- [iterations]
//
// Three calls: getppid (allowed with any arguments, so Linux >= 5.11 answers it
// from the filter's constant-action cache without running BPF), and fcntl
// F_GETFD and clock_gettime(CLOCK_THREAD_CPUTIME_ID), whose argument checks
// make the kernel run the filter on every call. A third column runs the same
// loops under a one-rule filter (default allow): the floor any seccomp filter
// costs (the kernel's slower syscall-entry path), so "filtered - minimal" is
// what the worker policy's own rules cost.
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

#include "sandbox/worker_policy.h"

namespace {

constexpr int kRounds = 7;
constexpr int kCalls = 3;
const char* const kCallNames[kCalls] = {
    "getppid                     ",
    "fcntl(F_GETFD)              ",
    "clock_gettime(THREAD_CPUTIME)",
};

// Nanoseconds per call of call `which`, median of kRounds rounds.
double Measure(int which, long iterations) {
  std::array<double, kRounds> rounds;
  for (double& round : rounds) {
    timespec ts;
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; ++i) {
      switch (which) {
        case 0:
          syscall(SYS_getppid);
          break;
        case 1:
          syscall(SYS_fcntl, 0, F_GETFD);
          break;
        case 2:
          syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &ts);
          break;
      }
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    round = std::chrono::duration<double, std::nano>(elapsed).count() / iterations;
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[kRounds / 2];
}

bool ApplyWorkerPolicy() {
  absl::StatusOr<kiln::sandbox::Policy> policy = kiln::sandbox::WorkerPolicy();
  return policy.ok() && policy->Apply().ok();
}

// Default allow, one rule: every call below is answered by the kernel's cache.
bool ApplyMinimalFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  bool ok = ctx != nullptr &&
            seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(acct), 0) == 0 &&
            seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// Forks a child that applies `confine` and measures every call; false on failure.
bool MeasureInChild(long iterations, bool (*confine)(), double (&result)[kCalls]) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (!confine()) _exit(2);
    double ns[kCalls];
    for (int c = 0; c < kCalls; ++c) ns[c] = Measure(c, iterations);
    _exit(write(fds[1], ns, sizeof ns) == sizeof ns ? 0 : 3);
  }
  close(fds[1]);
  ssize_t n = read(fds[0], result, sizeof result);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n != sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "measuring child failed (status 0x%x)\n", status);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? atol(argv[1]) : 2000000;
  // One CPU for both sides, so they are measured on the same core.
  cpu_set_t cpu;
  CPU_ZERO(&cpu);
  CPU_SET(0, &cpu);
  sched_setaffinity(0, sizeof cpu, &cpu);

  absl::StatusOr<kiln::sandbox::Policy> probe = kiln::sandbox::WorkerPolicy();
  if (!probe.ok()) {
    fprintf(stderr, "WorkerPolicy: %s\n", probe.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<size_t> instructions = probe->BpfInstructionCount();

  double unfiltered[kCalls];
  for (int c = 0; c < kCalls; ++c) unfiltered[c] = Measure(c, iterations);

  double filtered[kCalls], minimal[kCalls];
  if (!MeasureInChild(iterations, ApplyWorkerPolicy, filtered) ||
      !MeasureInChild(iterations, ApplyMinimalFilter, minimal)) {
    return 1;
  }

  printf("seccomp filter cost per allowed syscall (WorkerPolicy, %s BPF instructions)\n",
         instructions.ok() ? std::to_string(*instructions).c_str() : "?");
  printf("%ld calls x %d rounds each, median round, pinned to CPU 0\n\n", iterations, kRounds);
  printf("%-30s %12s %12s %8s %10s %14s %16s\n", "call", "unfiltered", "filtered", "ratio", "added",
         "minimal filter", "policy's rules");
  for (int c = 0; c < kCalls; ++c) {
    printf("%-30s %9.1f ns %9.1f ns %7.2fx %7.1f ns %11.1f ns %13.1f ns\n", kCallNames[c],
           unfiltered[c], filtered[c], filtered[c] / unfiltered[c], filtered[c] - unfiltered[c],
           minimal[c], filtered[c] - minimal[c]);
  }
  return 0;
}
