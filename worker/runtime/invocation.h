// The runtime's view of invocations: what goes in (an event), what comes out
// (an outcome with the response or error, timings, cold/warm), and where log
// lines go.
#pragma once

#include <cstdint>
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
