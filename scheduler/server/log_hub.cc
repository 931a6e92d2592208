// LogHub: per-tenant rings, per-follower queues, each under its own lock
// (hub lock first).
#include "scheduler/server/log_hub.h"

#include <algorithm>

namespace kiln::scheduler {

struct LogHub::Subscription::State {
  std::string tenant;
  std::string function;
  absl::Mutex mu;
  std::deque<kiln::v1::LogEntry> queue ABSL_GUARDED_BY(mu);
  uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
  bool closed ABSL_GUARDED_BY(mu) = false;

  bool Wants(const kiln::v1::LogEntry& entry) const {
    return entry.tenant() == tenant && (function.empty() || entry.function() == function);
  }
};

LogHub::Subscription::~Subscription() { hub_.Unsubscribe(state_.get()); }

std::optional<std::vector<kiln::v1::LogEntry>> LogHub::Subscription::Next(absl::Duration timeout) {
  absl::MutexLock lock(&state_->mu);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    return state_->closed || !state_->queue.empty();
  };
  state_->mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (state_->queue.empty() && state_->closed) return std::nullopt;
  std::vector<kiln::v1::LogEntry> entries(std::make_move_iterator(state_->queue.begin()),
                                          std::make_move_iterator(state_->queue.end()));
  state_->queue.clear();
  return entries;
}

uint64_t LogHub::Subscription::TakeDropped() {
  absl::MutexLock lock(&state_->mu);
  return std::exchange(state_->dropped, 0);
}

LogHub::LogHub(size_t per_tenant) : per_tenant_(per_tenant) {}

LogHub::~LogHub() { Close(); }

void LogHub::OnLogs(std::vector<kiln::v1::LogEntry> entries) {
  absl::MutexLock lock(&mu_);
  for (kiln::v1::LogEntry& entry : entries) {
    for (const auto& follower : followers_) {
      if (!follower->Wants(entry)) continue;
      absl::MutexLock follower_lock(&follower->mu);
      follower->queue.push_back(entry);
      if (follower->queue.size() > kMaxQueued) {
        follower->queue.pop_front();
        follower->dropped++;
      }
    }
    std::deque<kiln::v1::LogEntry>& ring = recent_[entry.tenant()];
    ring.push_back(std::move(entry));
    if (ring.size() > per_tenant_) ring.pop_front();
  }
}

std::vector<kiln::v1::LogEntry> LogHub::RecentLocked(absl::string_view tenant,
                                                     absl::string_view function, size_t backlog) {
  std::vector<kiln::v1::LogEntry> out;
  auto it = recent_.find(tenant);
  if (it == recent_.end() || backlog == 0) return out;
  for (auto e = it->second.rbegin(); e != it->second.rend() && out.size() < backlog; ++e) {
    if (function.empty() || e->function() == function) out.push_back(*e);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<kiln::v1::LogEntry> LogHub::Recent(absl::string_view tenant, absl::string_view function,
                                               size_t backlog) {
  absl::MutexLock lock(&mu_);
  return RecentLocked(tenant, function, backlog);
}

std::unique_ptr<LogHub::Subscription> LogHub::Follow(absl::string_view tenant,
                                                     absl::string_view function, size_t backlog,
                                                     std::vector<kiln::v1::LogEntry>* recent) {
  auto state = std::make_shared<Subscription::State>();
  state->tenant = std::string(tenant);
  state->function = std::string(function);
  absl::MutexLock lock(&mu_);
  *recent = RecentLocked(tenant, function, backlog);
  if (closed_) {
    absl::MutexLock state_lock(&state->mu);
    state->closed = true;
  } else {
    followers_.push_back(state);
  }
  return std::unique_ptr<Subscription>(new Subscription(*this, std::move(state)));
}

void LogHub::Unsubscribe(const Subscription::State* state) {
  absl::MutexLock lock(&mu_);
  followers_.erase(std::remove_if(followers_.begin(), followers_.end(),
                                  [state](const auto& f) { return f.get() == state; }),
                   followers_.end());
}

void LogHub::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (const auto& follower : followers_) {
    absl::MutexLock follower_lock(&follower->mu);
    follower->closed = true;
  }
}

}  // namespace kiln::scheduler
