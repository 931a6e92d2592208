// LogHub: what functions log, on its way from the workers (LogBatch frames,
// via the Fleet) to `kiln logs` (Control.TailLogs). Keeps the most recent
// entries of each tenant in memory for `backlog`, and fans new ones out to
// followers. Nothing is stored durably.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kiln/v1/common.pb.h"
#include "scheduler/fleet/fleet.h"

namespace kiln::scheduler {

class LogHub final : public LogConsumer {
 public:
  // A follower's view of one tenant's (and optionally one function's) new
  // entries. Entries beyond `kMaxQueued` unread are dropped, oldest first,
  // and counted. Used by one thread (a TailLogs handler).
  class Subscription {
   public:
    ~Subscription();
    // Waits up to `timeout` for entries and returns them (possibly none).
    // nullopt once the hub is closed.
    std::optional<std::vector<kiln::v1::LogEntry>> Next(absl::Duration timeout);
    // Entries dropped since the last call.
    uint64_t TakeDropped();

   private:
    friend class LogHub;
    struct State;
    explicit Subscription(LogHub& hub, std::shared_ptr<State> state)
        : hub_(hub), state_(std::move(state)) {}
    LogHub& hub_;
    std::shared_ptr<State> state_;
  };

  static constexpr size_t kMaxQueued = 10000;

  // Keeps the last `per_tenant` entries of each tenant.
  explicit LogHub(size_t per_tenant = 1000);
  ~LogHub() override;

  // LogConsumer: records entries and hands them to matching followers.
  void OnLogs(std::vector<kiln::v1::LogEntry> entries) override;

  // The last `backlog` entries of `tenant` (of `function` only, unless
  // empty), oldest first; and with `follow`, a subscription to every later
  // one, taken atomically with the backlog (no gap, no repeat).
  std::vector<kiln::v1::LogEntry> Recent(absl::string_view tenant, absl::string_view function,
                                         size_t backlog);
  std::unique_ptr<Subscription> Follow(absl::string_view tenant, absl::string_view function,
                                       size_t backlog, std::vector<kiln::v1::LogEntry>* recent);

  // Ends every subscription (Next returns nullopt): for shutdown.
  void Close();

 private:
  std::vector<kiln::v1::LogEntry> RecentLocked(absl::string_view tenant, absl::string_view function,
                                               size_t backlog) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unsubscribe(const Subscription::State* state);

  const size_t per_tenant_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::deque<kiln::v1::LogEntry>> recent_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Subscription::State>> followers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kiln::scheduler
