// Supervisor: fork + exec (PR_SET_PDEATHSIG in the child), a polling reaper,
// exponential backoff.
#include "scheduler/fleet/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "scheduler/util/log.h"

extern char** environ;

namespace kiln::scheduler {
namespace {

constexpr absl::string_view kServingPrefix = "local-";
constexpr absl::string_view kBuildPrefix = "local-builder-";

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended (wait status ", status, ")");
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) {}

Supervisor::~Supervisor() { Shutdown(absl::ZeroDuration()); }

std::string Supervisor::ServingWorkerId(int index) { return absl::StrCat(kServingPrefix, index); }
std::string Supervisor::BuildWorkerId(int index) { return absl::StrCat(kBuildPrefix, index); }
bool Supervisor::IsBuildWorkerId(absl::string_view worker_id) {
  return absl::StartsWith(worker_id, kBuildPrefix);
}

absl::Status Supervisor::Start(std::string scheduler_address) {
  if (access(options_.worker_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the worker binary ", options_.worker_binary,
                     " is not executable: ", std::strerror(errno)));
  }
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("the supervisor was started before");
  started_ = true;
  address_ = std::move(scheduler_address);
  const absl::Time now = absl::Now();
  for (int i = 0; i < options_.build_workers; ++i) {
    slots_.push_back(
        {.worker_id = BuildWorkerId(i), .next_start = now, .backoff = options_.min_backoff});
  }
  for (int i = 0; i < options_.workers; ++i) {
    slots_.push_back(
        {.worker_id = ServingWorkerId(i), .next_start = now, .backoff = options_.min_backoff});
  }
  thread_ = std::thread([this] { Main(); });
  return absl::OkStatus();
}

void Supervisor::SpawnLocked(Slot& slot) {
  std::vector<std::string> args = {options_.worker_binary, "--scheduler", address_, "--worker-id",
                                   slot.worker_id};
  args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "KILN_HASH_SEED=")) env.emplace_back(*e);
  }
  // The seed goes in the environment, not argv: /proc/<pid>/cmdline is
  // world-readable, /proc/<pid>/environ is not.
  env.push_back(absl::StrCat("KILN_HASH_SEED=", options_.hash_seed));
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);  // the worker reports on stderr; stdout is the scheduler's
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  slot.started = absl::Now();
  if (pid < 0) {
    Log("supervisor", absl::StrCat("cannot fork ", slot.worker_id, ": ", std::strerror(errno)));
    slot.next_start = slot.started + slot.backoff;
    return;
  }
  slot.pid = pid;
  Log("supervisor", absl::StrCat("started ", slot.worker_id, " (pid ", pid, ")"));
}

void Supervisor::Main() {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = absl::Now();
    bool running = false;
    for (Slot& slot : slots_) {
      if (slot.pid > 0) {
        int status = 0;
        pid_t done = waitpid(slot.pid, &status, WNOHANG);
        if (done == slot.pid || (done < 0 && errno == ECHILD)) {
          const absl::Duration ran = now - slot.started;
          if (!stopping_) {
            // Backoff doubles with each quick crash, and starts over after a
            // worker that ran for a while.
            if (ran >= options_.stable_after) slot.backoff = options_.min_backoff;
            slot.next_start = now + slot.backoff;
            slot.restarts++;
            Log("supervisor",
                absl::StrCat(slot.worker_id, " (pid ", slot.pid, ") ", DescribeExit(status),
                             " after ",
                             absl::FormatDuration(absl::Trunc(ran, absl::Milliseconds(1))),
                             "; restarting in ", absl::FormatDuration(slot.backoff)));
            slot.backoff = std::min(options_.max_backoff, slot.backoff * 2);
          }
          slot.pid = -1;
        } else if (stopping_ && now >= kill_at_) {
          kill(slot.pid, SIGKILL);
        }
      }
      if (slot.pid < 0 && !stopping_ && now >= slot.next_start) SpawnLocked(slot);
      if (slot.pid > 0) running = true;
    }
    if (stopping_ && !running) return;
    mu_.Unlock();
    absl::SleepFor(absl::Milliseconds(20));
    mu_.Lock();
  }
}

void Supervisor::StopRestarting() {
  absl::MutexLock lock(&mu_);
  if (!stopping_) {
    stopping_ = true;
    kill_at_ = absl::InfiniteFuture();
  }
}

void Supervisor::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    kill_at_ = std::min(kill_at_, absl::Now() + grace);
  }
  if (thread_.joinable()) thread_.join();
}

void Supervisor::OnWorkerGone(const WorkerInfo& worker, absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (Slot& slot : slots_) {
    if (slot.worker_id == worker.worker_id && slot.pid > 0 &&
        static_cast<uint32_t>(slot.pid) == worker.pid) {
      Log("supervisor",
          absl::StrCat("killing ", slot.worker_id, " (pid ", slot.pid, "): ", reason));
      kill(slot.pid, SIGKILL);
    }
  }
}

std::vector<Supervisor::Child> Supervisor::Children() const {
  absl::MutexLock lock(&mu_);
  std::vector<Child> children;
  for (const Slot& slot : slots_) children.push_back({slot.worker_id, slot.pid, slot.restarts});
  return children;
}

}  // namespace kiln::scheduler
