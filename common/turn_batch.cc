// TurnBatch: a thread-local list of deferred write starts.
#include "common/turn_batch.h"

#include <utility>
#include <vector>

namespace kiln {
namespace {

struct Gathering {
  bool active = false;
  std::vector<absl::AnyInvocable<void()>> deferred;
};

Gathering& ThisThread() {
  thread_local Gathering gathering;
  return gathering;
}

}  // namespace

void TurnBatch::Begin() { ThisThread().active = true; }

void TurnBatch::End() {
  Gathering& gathering = ThisThread();
  gathering.active = false;
  std::vector<absl::AnyInvocable<void()>> deferred;
  deferred.swap(gathering.deferred);
  for (auto& start : deferred) start();
}

bool TurnBatch::Defer(absl::AnyInvocable<void()>& start) {
  Gathering& gathering = ThisThread();
  if (!gathering.active) return false;
  gathering.deferred.push_back(std::move(start));
  return true;
}

}  // namespace kiln
