// Supervisor: the local kiln-worker processes of `kiln-scheduler --workers N`.
// Spawns them (dialing the scheduler's API address, with the cluster's hash
// seed in KILN_HASH_SEED so every worker has the fleet's runtime
// fingerprint), restarts any that exits with exponential backoff, and kills
// one the Fleet declared dead (e.g. silent: a stopped process) so it is
// restarted. A worker can never reconnect (it confines itself after dialing
// once), so restarting the process is the only recovery.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler/fleet/fleet.h"

namespace kiln::scheduler {

struct SupervisorOptions {
  std::string worker_binary;             // path of kiln-worker
  uint64_t hash_seed = 0;                // Store::cluster_settings().hash_seed
  int workers = 2;                       // serving workers, ids "local-0", "local-1", ...
  int build_workers = 1;                 // build-only workers, ids "local-builder-0", ...
  std::vector<std::string> worker_args;  // appended to each worker's command line
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // A worker that ran at least this long restarts after min_backoff again.
  absl::Duration stable_after = absl::Seconds(10);
};

// Owned by the scheduler's main. One thread (started by Start) forks, reaps
// and restarts the children; it lives until Shutdown, because children are
// tied to it with PR_SET_PDEATHSIG (they die with the scheduler, even a
// SIGKILLed one). Thread-safe.
class Supervisor final : public FleetObserver {
 public:
  explicit Supervisor(SupervisorOptions options);
  // Shutdown(absl::ZeroDuration()) if still running.
  ~Supervisor() override;
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // The worker ids this supervisor uses.
  static std::string ServingWorkerId(int index);
  static std::string BuildWorkerId(int index);
  // Whether `worker_id` names a build-only worker (FleetOptions.build_only).
  static bool IsBuildWorkerId(absl::string_view worker_id);

  // Starts the children, dialing `scheduler_address` (HOST:PORT).
  // FailedPrecondition if started before or the worker binary is not
  // executable.
  absl::Status Start(std::string scheduler_address);

  // Stops restarting children that exit (the first step of a shutdown).
  void StopRestarting();

  // Stops restarting; waits up to `grace` for the children to exit (after a
  // Drain they do), SIGKILLs the rest and reaps them all.
  void Shutdown(absl::Duration grace);

  // FleetObserver: SIGKILLs the local worker process that registered as
  // `worker` (matched by id and pid), so the supervisor restarts it.
  void OnWorkerGone(const WorkerInfo& worker, absl::string_view reason) override;

  struct Child {
    std::string worker_id;
    pid_t pid = -1;  // -1 while not running
    int restarts = 0;
  };
  std::vector<Child> Children() const;

 private:
  struct Slot {
    std::string worker_id;
    pid_t pid = -1;
    int restarts = 0;
    absl::Time started;
    absl::Time next_start;
    absl::Duration backoff;
  };

  void Main();
  void SpawnLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SupervisorOptions options_;
  mutable absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time kill_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace kiln::scheduler
