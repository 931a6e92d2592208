// The runtime's view of invocations: what goes in (an event), what comes out
// (an outcome with the response or error, timings, cold/warm), and where log
// lines go.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "worker/js/types.h"
#include "worker/runtime/isolate_pool.h"

namespace kiln::worker {

using InvocationEvent = std::variant<HttpRequest, QueueBatch, ScheduledEvent>;

struct InvocationOutcome {
  enum class Status {
    kOk,           // the handler produced its result
    kException,    // it threw or rejected; `error` holds the stack
    kBreach,       // a limit stopped it; `breach` says which, `error` too
    kHung,         // its promise can never settle: nothing left to wait for
    kNotFound,     // the version is not loaded on this worker
    kUnavailable,  // the worker is shutting down
    kInternal,     // booting failed or a bug
    kCancelled,    // its caller went away (WorkerRuntime::Cancel)
  };
  Status status = Status::kOk;
  Breach breach = Breach::kNone;
  std::string error;
  HttpResponse http;                 // fetch
  std::vector<QueueOutcome> queue;   // queue: one per message
  absl::Duration cpu;
  absl::Duration wall;
  bool cold = false;
};

// Receives a streamed response body, on the executor thread, in order:
// chunks, then exactly one End ("" when the stream completed, else why it
// broke off: the stream's error, a limit, a cancel). Used only once the head
// was delivered with http.body_streamed; otherwise it is just destroyed.
class ResponseBodyWriter {
 public:
  virtual ~ResponseBodyWriter() = default;
  virtual void Write(std::string chunk) = 0;
  virtual void End(std::string error) = 0;
};

struct InvokeOptions {
  // Names the invocation for WorkerRuntime::Cancel and GrantCredit (unique
  // among those in flight); 0: neither applies.
  uint64_t id = 0;
  // Set: a fetch handler's stream body streams. `done` then gets the head
  // (http.body_streamed, empty body) once the Response is returned, and the
  // body goes here as JavaScript produces it, while the caller grants credit.
  // Unset: a stream body is read to the end first (the response limit applies).
  std::unique_ptr<ResponseBodyWriter> body;
  // Bytes of body the caller takes before its first GrantCredit.
  size_t initial_credit = 1 << 20;
};

struct LogLine {
  int64_t timestamp_ms = 0;
  LogLevel level = LogLevel::kLog;
  std::string message;
  std::string request_id;
  FunctionKey function;
  bool cold = false;
};

// Receives console output and uncaught errors of every invocation. Called on
// executor threads; implementations must be thread-safe.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void OnLog(LogLine line) = 0;
};

}  // namespace kiln::worker
