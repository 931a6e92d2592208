// Plain C++ types for what crosses the worker's JavaScript boundary: bundles,
// invocation events and results, log lines, limit breaches. No V8 here, so the
// runtime, API and server layers share them without including <v8.h>.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kiln::worker {

// An ES module bundle: relative file paths to contents, and the entry module
// whose default export holds the handlers.
struct Bundle {
  std::map<std::string, std::string> files;
  std::string main_module;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;
  // The caller takes a stream body chunk by chunk (InvocationRunner's body
  // phase) instead of whole.
  bool stream_response = false;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
  bool body_streamed = false;  // `body` is empty; the body follows in chunks
};

struct QueueMessage {
  std::string id;
  std::string body;          // JSON text for content_type "json", else raw
  std::string content_type;  // "json", "text" or "bytes"
  int64_t timestamp_ms = 0;
  uint32_t attempts = 1;
};

struct QueueBatch {
  std::string queue;
  std::vector<QueueMessage> messages;
};

struct QueueOutcome {
  std::string id;
  bool ack = false;  // false: retry
  uint32_t delay_seconds = 0;
};

struct ScheduledEvent {
  std::string cron;
  int64_t scheduled_time_ms = 0;
};

enum class LogLevel { kDebug, kLog, kInfo, kWarn, kError };

const char* LogLevelName(LogLevel level);

// Why an invocation was stopped by the platform rather than by its own code.
// Why an isolate was stopped mid-run (kCancelled: its caller went away).
enum class Breach { kNone, kCpu, kWall, kMemory, kResponseSize, kCancelled };

const char* BreachMessage(Breach breach);

}  // namespace kiln::worker
