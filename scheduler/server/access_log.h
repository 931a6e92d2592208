// AccessLog: writes the gateway's one line per request to a file (or stdout),
// buffered and flushed at least once a second, so that logging costs no
// syscall per request under load.
//
//   2026-11-26T20:20:01.123Z 8f3a… acme/hello@3 200 12B 0.412ms warm GET hello.acme.localhost /path
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "scheduler/gateway/gateway.h"

namespace kiln::scheduler {

class AccessLog {
 public:
  // `path` "-" is stdout; otherwise the file is created or appended to.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& path);
  ~AccessLog();

  // Called on the gateway's thread only.
  void Write(const gateway::AccessLogEntry& entry);

  // One line, without the newline (for tests).
  static std::string Format(const gateway::AccessLogEntry& entry, absl::Time at);

 private:
  AccessLog(FILE* file, bool owned) : file_(file), owned_(owned) {}
  FILE* file_;
  bool owned_;
  absl::Time last_flush_ = absl::Now();
};

}  // namespace kiln::scheduler
