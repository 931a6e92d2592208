// AccessLog: writes the gateway's one line per request to a file (or stdout),
// buffered, and flushed once a second by a thread of its own, so that logging
// costs no syscall per request under load and no line waits longer than that.
//
//   2026-11-26T20:20:01.123Z 8f3a… acme/hello@3 200 12B 0.412ms warm GET hello.acme.localhost /path
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler/gateway/gateway.h"

namespace kiln::scheduler {

class AccessLog {
 public:
  // `path` "-" is stdout; otherwise the file is created or appended to.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& path);
  ~AccessLog();

  // Thread-safe (called on the gateway's thread).
  void Write(const gateway::AccessLogEntry& entry);

  // One line, without the newline (for tests).
  static std::string Format(const gateway::AccessLogEntry& entry, absl::Time at);

 private:
  AccessLog(FILE* file, bool owned);
  void FlusherMain();

  FILE* const file_;
  const bool owned_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::thread flusher_;
};

}  // namespace kiln::scheduler
