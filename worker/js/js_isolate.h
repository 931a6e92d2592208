// One V8 isolate booted from a function's snapshot, with that function's limits
// attached (heap with ArrayBuffers counted, stack, response size). The runtime
// drives it through invocation "turns": each call enters the isolate on the
// calling thread, runs JavaScript and the microtasks it queued, and reports
// where the invocation stands. Used by one thread at a time (v8::Locker);
// Terminate() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/js/native.h"
#include "worker/js/snapshot.h"
#include "worker/js/types.h"

namespace v8 {
class Isolate;
}  // namespace v8

namespace kiln::worker::js {

struct IsolateOptions {
  size_t heap_limit_bytes = 128u << 20;      // V8 heap plus ArrayBuffer memory
  size_t response_limit_bytes = 32u << 20;   // largest response body
  std::string env_json = "{}";               // `env`: vars and secrets
  bool allow_eval = false;                   // eval / new Function
  bool allow_wasm_codegen = false;           // WebAssembly from bytes
};

// Where an invocation stands after a turn.
struct TurnResult {
  enum class State {
    kWaiting,   // pending on timers or I/O; call FireTimer() when one fires
    kDone,      // the stage finished; results are ready
    kThrew,     // the handler threw or rejected; `error` holds its stack
    kBreached,  // a limit stopped it; `breach` says which. The isolate is condemned.
  };
  State state = State::kWaiting;
  std::string error;
  Breach breach = Breach::kNone;
  // kWaiting only: V8 has background work under way (an asynchronous
  // WebAssembly compile) that will post a task; the waker will be called.
  bool background_pending = false;
};

class JsIsolate {
 public:
  // Boots an isolate from `snapshot` (whose fingerprint the caller checked via
  // Snapshot::Parse). `spec` must be the runtime the snapshot was built with
  // and outlive the isolate.
  static absl::StatusOr<std::unique_ptr<JsIsolate>> Boot(std::shared_ptr<const Snapshot> snapshot,
                                                         const RuntimeSpec& spec,
                                                         const IsolateOptions& options);
  ~JsIsolate();
  JsIsolate(const JsIsolate&) = delete;
  JsIsolate& operator=(const JsIsolate&) = delete;

  // Calls the handler for an event. `host` serves the invocation's natives
  // until Finish().
  TurnResult StartFetch(const HttpRequest& request, JsHost* host);
  TurnResult StartQueue(const QueueBatch& batch, JsHost* host);
  TurnResult StartScheduled(const ScheduledEvent& event, JsHost* host);
  // Runs the callbacks of timer `id`.
  TurnResult FireTimer(uint32_t id);
  // Runs the tasks V8 posted for this isolate, then microtasks.
  TurnResult RunPlatformTasks();
  // Sets (or, with nullptr, clears) what is called, from any thread, when V8
  // posts a foreground task for this isolate; its argument is the task's
  // delay in seconds. The callee should come back with RunPlatformTasks().
  void SetTaskWaker(std::function<void(double)> waker);
  // After a fetch handler's result with HttpResponse::body_streamed: reads
  // the response's stream, handing each chunk to JsHost::WriteBody while it
  // grants credit (bytes it can take). kDone at the end of the stream, kThrew
  // when the stream errors.
  TurnResult StartBody(double credit);
  // The host can take `credit` more bytes now (after WriteBody said none).
  TurnResult AddBodyCredit(double credit);
  // After the handler's result: waits for the promises given to
  // ctx.waitUntil(). kDone at once when there are none (without entering
  // the isolate when none was given during this invocation).
  TurnResult StartWaitUntil();
  // Whether ctx.waitUntil() was called during the current invocation; when
  // not, StartWaitUntil() runs no JavaScript.
  bool wait_until_added() const;
  // Ends the invocation: forgets its timers and host. Runs no JavaScript
  // when the last turn already ended it (a handler stage that settled with
  // no ctx.waitUntil() work and no streamed body ends in that turn).
  void Finish();

  // Results of the handler stage, once it reported kDone.
  HttpResponse TakeHttpResponse() { return std::move(http_response_); }
  std::vector<QueueOutcome> TakeQueueOutcomes() { return std::move(queue_outcomes_); }

  // Stops running JavaScript as soon as possible and condemns the isolate.
  // Thread-safe; the first breach reported wins.
  void Terminate(Breach why);
  Breach breach() const { return breach_.load(); }
  // A condemned isolate is never reused: a limit stopped it mid-run, so its
  // module state may be half-updated.
  bool condemned() const { return breach_.load() != Breach::kNone; }

  // Keeps V8's lock on the isolate for the calling thread from Lock() until
  // Unlock(). The turns, Finish() and MeasureMemory() called in between then
  // skip the per-thread setup and teardown V8 does each time a thread takes
  // the lock afresh. Unlock() on the same thread, before any other thread
  // uses the isolate (or destroys it). Not nested.
  void Lock();
  void Unlock();

  // V8 heap (physical size) plus live ArrayBuffer bytes. Enters the isolate
  // and walks every heap space.
  size_t MeasureMemory();
  // MeasureMemory()'s figure, re-measured only when the heap has been
  // collected since the last measurement (the heap changes size mostly at
  // collections) or that measurement was reused kMemoryReuses times;
  // otherwise its heap part with the ArrayBuffer bytes of now. For the pool's
  // memory budget; the heap limit is enforced by V8 and the allocator.
  size_t RecentMemory();
  static constexpr int kMemoryReuses = 32;
  const Snapshot& snapshot() const { return *snapshot_; }

 private:
  class Impl;
  class Allocator;
  JsIsolate() = default;

  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<Breach> breach_{Breach::kNone};
  // The last MeasureMemory(): its heap part, the collection count then, and
  // how many RecentMemory() calls reused it.
  size_t measured_heap_ = 0;
  uint64_t measured_at_gc_ = 0;
  int measure_reuses_ = 0;
  HttpResponse http_response_;
  std::vector<QueueOutcome> queue_outcomes_;
};

}  // namespace kiln::worker::js
