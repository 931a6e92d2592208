// Enforces CPU and wall time on JavaScript while it runs. Executors mark the
// start and end of every turn; one watchdog thread samples the executing
// threads' CPU clocks and terminates a turn that passes its budget. It sleeps
// when nothing runs, so an idle worker costs nothing.
//
// Reading a thread's CPU clock is a system call (~0.4 µs, more under
// seccomp). A turn begun with `approximate` may save both readings: if it is
// shorter than kClockReuse in wall time it is charged its wall time (never
// less than its CPU time), and if it begins within kClockReuse of the
// thread's last reading it is measured from that reading. Either way it is
// charged at most kClockReuse more than it used (never less), so a caller
// that approximates one turn per invocation (its first) keeps every
// invocation's error that small.
#pragma once

#include <time.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/js/js_isolate.h"

namespace kiln::worker {

class Watchdog {
 public:
  // One per executor thread; created by Register() on that thread.
  class Slot {
   public:
    clockid_t cpu_clock() const { return cpu_clock_; }
    // Whether the slot's thread is running JavaScript right now.
    bool in_turn() const { return busy_.load(std::memory_order_relaxed); }

   private:
    friend class Watchdog;
    clockid_t cpu_clock_{};
    // Slot's thread only: its last CPU-clock reading, the monotonic time it
    // was taken, and when the current turn began (monotonic).
    int64_t read_cpu_ns_ = 0;
    int64_t read_at_ns_ = 0;
    int64_t turn_began_ns_ = 0;
    bool approximate_ = false;  // the current turn's
    absl::Mutex mu_;
    js::JsIsolate* isolate_ ABSL_GUARDED_BY(mu_) = nullptr;
    std::atomic<bool> busy_{false};
    int64_t cpu_start_ns_ ABSL_GUARDED_BY(mu_) = 0;
    int64_t cpu_budget_ns_ ABSL_GUARDED_BY(mu_) = 0;
    absl::Time wall_deadline_ ABSL_GUARDED_BY(mu_);
  };

  // `tick`: how often running turns are sampled (the enforcement granularity).
  explicit Watchdog(absl::Duration tick = absl::Milliseconds(1));
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Registers the calling thread. The slot lives as long as the watchdog.
  Slot* Register();

  // Marks the start of a turn of `isolate` on the slot's thread, which may use
  // `cpu_budget` more CPU time and must end by `wall_deadline`. `approximate`:
  // see above.
  void BeginTurn(Slot* slot, js::JsIsolate* isolate, absl::Duration cpu_budget,
                 absl::Time wall_deadline, bool approximate = false);
  // Marks its end; returns the CPU time charged to the turn (see above).
  absl::Duration EndTurn(Slot* slot);

  static constexpr absl::Duration kClockReuse = absl::Microseconds(100);

  // CPU time the calling thread has used.
  static int64_t ThreadCpuNanos();
  // CLOCK_MONOTONIC, in nanoseconds (no system call).
  static int64_t MonotonicNanos();

 private:
  void Run();
  bool ScanSlots();  // true when a turn is running

  const absl::Duration tick_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> slot_count_{0};
  Slot* slot_array_[64] = {};
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> sleeping_{false};
  absl::CondVar wake_;
  std::thread thread_;
};

}  // namespace kiln::worker
