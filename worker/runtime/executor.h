// An executor: one thread running one libuv loop, on which invocations run
// their JavaScript turns and timers. Many invocations (of different isolates)
// interleave on one executor: while one awaits a timer, others run.
#pragma once

#include <uv.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "worker/runtime/watchdog.h"

namespace kiln::worker {

class Executor {
 public:
  // Starts the thread (8 MiB stack: V8 keeps its own ~1 MiB stack limit
  // below the entry point, so deep recursion is a RangeError well before the
  // thread's stack ends). Registers it with `watchdog`.
  Executor(Watchdog& watchdog, std::string name);
  // Runs the tasks already posted, then stops the loop and joins the thread.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `task` on the executor thread. Tasks posted before the thread gets
  // to them run together, in order, in one loop iteration. Thread-safe.
  void Post(absl::AnyInvocable<void()> task);

  // The loop and the watchdog slot; use only on the executor thread.
  uv_loop_t* loop() { return &loop_; }
  Watchdog::Slot* watchdog_slot() { return slot_; }
  Watchdog& watchdog() { return watchdog_; }

  // Whether JavaScript is running on this executor right now.
  bool in_turn() const { return slot_->in_turn(); }
  // Invocations currently running on this executor (for load balancing).
  std::atomic<int>& load() { return load_; }

 private:
  static void* ThreadMain(void* self);
  void RunPosted();

  Watchdog& watchdog_;
  const std::string name_;
  uv_loop_t loop_;
  uv_async_t wakeup_;
  uv_prepare_t turn_start_;  // TurnBatch::Begin
  uv_check_t turn_end_;      // TurnBatch::End
  Watchdog::Slot* slot_ = nullptr;
  absl::Mutex mu_;
  std::vector<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::AnyInvocable<void()>> running_;  // executor thread only
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> load_{0};
  pthread_t thread_;
  absl::Notification* started_ = nullptr;
};

}  // namespace kiln::worker
