// Runs one invocation on one executor: takes an isolate from the pool, drives
// the JavaScript turns (handler, timers, ctx.waitUntil), enforces CPU, wall and
// waitUntil budgets, and reports the outcome once. Implements the JsHost that
// natives talk to (timers on the executor's libuv loop, logs, clock).
// Lives on its executor's thread only; deletes itself when done.
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "worker/js/native.h"
#include "worker/runtime/executor.h"
#include "worker/runtime/invocation.h"
#include "worker/runtime/isolate_pool.h"

namespace kiln::worker::internal {

class InvocationRunner final : public js::JsHost {
 public:
  using Done = absl::AnyInvocable<void(InvocationOutcome)>;

  // Starts the invocation; call on `executor`'s thread. `done` runs once, on
  // that thread, as soon as the handler's result (or failure) is known;
  // ctx.waitUntil() work may continue after it.
  static void Start(Executor& executor, IsolatePool& pool, LogSink* logs, FunctionKey key,
                    InvocationEvent event, std::string request_id, Done done);

  // Ends every runner on the calling executor thread: callers not yet
  // answered get kUnavailable. Used when the runtime shuts down.
  static void AbortAll();

  // js::JsHost
  void Log(LogLevel level, absl::string_view message) override;
  absl::Status SetTimer(uint32_t id, double delay_ms, bool repeat) override;
  void ClearTimer(uint32_t id) override;

 private:
  enum class Phase { kHandler, kWaitUntil, kFinished };

  InvocationRunner(Executor& executor, IsolatePool& pool, LogSink* logs, FunctionKey key,
                   InvocationEvent event, std::string request_id, Done done);
  ~InvocationRunner() override;

  void Begin();
  template <typename Turn>
  void RunTurn(Turn turn);
  void Handle(const js::TurnResult& result);
  void Deliver(InvocationOutcome outcome);
  void EnterWaitUntil();
  void Finish();
  void OnTimer(uint32_t id);
  // V8 posted a task for the isolate (from any thread: see Begin()).
  void OnPlatformTask();
  void OnDeadline();
  void StartDeadline(absl::Duration after);

  Executor& executor_;
  IsolatePool& pool_;
  LogSink* logs_;
  FunctionKey key_;
  InvocationEvent event_;
  std::string request_id_;
  Done done_;
  IsolatePool::Lease lease_;
  // The handler's outcome while ctx.waitUntil() is checked: delivered after
  // the isolate is back in the pool when there is no waitUntil work (so a
  // caller's next request finds it warm), else at once.
  std::optional<InvocationOutcome> outcome_;
  Phase phase_ = Phase::kHandler;
  absl::Time started_;
  absl::Time deadline_;  // wall limit of the current phase
  absl::Duration cpu_used_;
  // Timers set by JavaScript, by id; each uv timer is freed in its close callback.
  std::unordered_map<uint32_t, uv_timer_t*> timers_;
  uv_timer_t* deadline_timer_ = nullptr;
  // One-shot timers for V8's delayed foreground tasks.
  std::vector<uv_timer_t*> platform_timers_;
};

}  // namespace kiln::worker::internal
