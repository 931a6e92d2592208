// The CPU / wall-time watchdog.
#include "worker/runtime/watchdog.h"

#include <pthread.h>


namespace kiln::worker {
namespace {

int64_t ClockNanos(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Watchdog::Watchdog(absl::Duration tick) : tick_(tick), thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_.Signal();
  }
  thread_.join();
}

int64_t Watchdog::ThreadCpuNanos() { return ClockNanos(CLOCK_THREAD_CPUTIME_ID); }

int64_t Watchdog::MonotonicNanos() { return ClockNanos(CLOCK_MONOTONIC); }

Watchdog::Slot* Watchdog::Register() {
  auto slot = std::make_unique<Slot>();
  pthread_getcpuclockid(pthread_self(), &slot->cpu_clock_);
  slot->read_at_ns_ = MonotonicNanos() - 2 * absl::ToInt64Nanoseconds(kClockReuse);  // stale
  absl::MutexLock lock(&mu_);
  Slot* raw = slot.get();
  int index = slot_count_.load();
  if (index >= 64) return nullptr;
  slot_array_[index] = raw;
  slots_.push_back(std::move(slot));
  slot_count_.store(index + 1);
  return raw;
}

void Watchdog::BeginTurn(Slot* slot, js::JsIsolate* isolate, absl::Duration cpu_budget,
                         absl::Time wall_deadline, bool approximate) {
  const int64_t now = MonotonicNanos();
  slot->turn_began_ns_ = now;
  slot->approximate_ = approximate;
  if (!approximate || now - slot->read_at_ns_ >= absl::ToInt64Nanoseconds(kClockReuse)) {
    slot->read_cpu_ns_ = ThreadCpuNanos();
    slot->read_at_ns_ = now;
  }
  {
    absl::MutexLock lock(&slot->mu_);
    slot->isolate_ = isolate;
    slot->cpu_start_ns_ = slot->read_cpu_ns_;
    slot->cpu_budget_ns_ = absl::ToInt64Nanoseconds(cpu_budget);
    slot->wall_deadline_ = wall_deadline;
  }
  slot->busy_.store(true);
  if (sleeping_.load()) {
    absl::MutexLock lock(&mu_);
    wake_.Signal();
  }
}

absl::Duration Watchdog::EndTurn(Slot* slot) {
  slot->busy_.store(false);
  {
    absl::MutexLock lock(&slot->mu_);
    slot->isolate_ = nullptr;
  }
  const int64_t now = MonotonicNanos();
  const int64_t wall = now - slot->turn_began_ns_;
  if (slot->approximate_ && wall < absl::ToInt64Nanoseconds(kClockReuse)) {
    return absl::Nanoseconds(wall);
  }
  const int64_t cpu = ThreadCpuNanos();
  const int64_t used = cpu - slot->read_cpu_ns_;
  slot->read_cpu_ns_ = cpu;
  slot->read_at_ns_ = now;
  return absl::Nanoseconds(used);
}

bool Watchdog::ScanSlots() {
  bool any = false;
  const int count = slot_count_.load();
  for (int i = 0; i < count; ++i) {
    Slot* slot = slot_array_[i];
    if (!slot->busy_.load()) continue;
    absl::MutexLock lock(&slot->mu_);
    if (slot->isolate_ == nullptr) continue;
    any = true;
    int64_t used = ClockNanos(slot->cpu_clock_) - slot->cpu_start_ns_;
    if (used > slot->cpu_budget_ns_) {
      slot->isolate_->Terminate(Breach::kCpu);
      slot->isolate_ = nullptr;  // once is enough
    } else if (absl::Now() > slot->wall_deadline_) {
      slot->isolate_->Terminate(Breach::kWall);
      slot->isolate_ = nullptr;
    }
  }
  return any;
}

void Watchdog::Run() {
  int idle_scans = 0;
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    mu_.Unlock();
    bool running = ScanSlots();
    mu_.Lock();
    if (stop_) break;
    idle_scans = running ? 0 : idle_scans + 1;
    if (idle_scans > 100) {
      // Nothing has run for a while: sleep until a turn begins. Announce the
      // sleep first, then look once more, so a turn that began meanwhile is
      // not missed (BeginTurn sets busy_ before reading sleeping_).
      sleeping_.store(true);
      bool busy = false;
      for (int i = 0; i < slot_count_.load(); ++i) busy = busy || slot_array_[i]->busy_.load();
      if (!busy) wake_.Wait(&mu_);
      sleeping_.store(false);
      idle_scans = 0;
    } else {
      wake_.WaitWithTimeout(&mu_, tick_);
    }
  }
}

}  // namespace kiln::worker
