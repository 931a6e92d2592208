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
  // `options`: see InvokeOptions; `finished` runs when the runner is gone.
  static void Start(Executor& executor, IsolatePool& pool, LogSink* logs, FunctionKey key,
                    InvocationEvent event, std::string request_id, Done done,
                    InvokeOptions options = {}, absl::AnyInvocable<void()> finished = nullptr);

  // Ends every runner on the calling executor thread: callers not yet
  // answered get kUnavailable. Used when the runtime shuts down.
  static void AbortAll();
  // WorkerRuntime::Cancel / GrantCredit, on the runner's executor thread.
  static void Cancel(uint64_t id);
  static void GrantCredit(uint64_t id, size_t bytes);

  // js::JsHost
  void Log(LogLevel level, absl::string_view message) override;
  absl::Status SetTimer(uint32_t id, double delay_ms, bool repeat) override;
  void ClearTimer(uint32_t id) override;
  absl::StatusOr<double> WriteBody(absl::Span<const uint8_t> chunk) override;

 private:
  // kBody: a fetch handler's head was delivered; its stream body is pumped.
  enum class Phase { kHandler, kBody, kWaitUntil, kFinished };

  InvocationRunner(Executor& executor, IsolatePool& pool, LogSink* logs, FunctionKey key,
                   InvocationEvent event, std::string request_id, Done done,
                   InvokeOptions options, absl::AnyInvocable<void()> finished);
  ~InvocationRunner() override;

  void Begin();
  template <typename Turn>
  void RunTurn(Turn turn);
  void Handle(const js::TurnResult& result);
  void Deliver(InvocationOutcome outcome);
  // Ends the streamed body (once), after what is buffered.
  void EndBody(std::string error);
  void FlushBody();
  void EnterWaitUntil();
  void Finish();
  void OnTimer(uint32_t id);
  // V8 posted a task for the isolate (from any thread: see Begin()).
  void OnPlatformTask();
  // Logs that the body or waitUntil phase ran out of wall time.
  void LogPhaseOutOfTime();
  void OnDeadline();
  // Sets the current phase's wall deadline. Its uv timer is armed only when
  // the runner goes back to the loop to wait (ArmDeadline): while JavaScript
  // runs, the watchdog enforces the deadline.
  void StartDeadline(absl::Duration after);
  void ArmDeadline();

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
  int turns_ = 0;  // begun so far
  // Timers set by JavaScript, by id; each uv timer is freed in its close callback.
  std::unordered_map<uint32_t, uv_timer_t*> timers_;
  uv_timer_t* deadline_timer_ = nullptr;  // created on first ArmDeadline()
  bool deadline_armed_ = false;
  // One-shot timers for V8's delayed foreground tasks.
  std::vector<uv_timer_t*> platform_timers_;
  InvokeOptions options_;
  absl::AnyInvocable<void()> finished_;
  // Streamed body: bytes the caller can take now, and chunks not yet handed
  // over (coalesced up to kBodyChunkBytes, flushed after every turn).
  double credit_ = 0;
  std::string body_buffer_;
};

}  // namespace kiln::worker::internal
