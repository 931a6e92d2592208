// AccessLog: writes the gateway's one line per request to a file (or stdout).
// Write formats the line into memory; a thread of its own writes what piled
// up once a second (sooner when 64 KiB are waiting), so that logging costs
// the gateway's thread no syscall and no lock wait under load, and no line
// waits longer than about a second to reach the file.
//
//   2026-11-26T20:20:01.123Z 8f3a… acme/hello@3 200 12B 0.412ms warm GET hello.acme.localhost /path
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "scheduler/gateway/gateway.h"

namespace kiln::scheduler {

class AccessLog {
 public:
  // `path` "-" is stdout; otherwise the file is created or appended to.
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& path);
  // Writes out every line written before, then closes the file (or flushes
  // stdout).
  ~AccessLog();

  // Thread-safe (called on the gateway's thread). Formats the line into
  // memory; it reaches the file within about a second. Blocks only when the
  // writer thread is more than kMaxPendingBytes behind (a stalled disk): it
  // then writes the backlog itself.
  void Write(const gateway::AccessLogEntry& entry);

  // One line, without the newline (for tests).
  static std::string Format(const gateway::AccessLogEntry& entry, absl::Time at);

  // Formatted lines waiting for the writer thread: it is woken at
  // kWakeBytes, and Write writes them itself above kMaxPendingBytes.
  static constexpr size_t kWakeBytes = 64 << 10;
  static constexpr size_t kMaxPendingBytes = 8 << 20;

 private:
  // The "YYYY-MM-DDTHH:MM:SS" of the last second a line was formatted in:
  // formatted once a second, not once a line.
  struct SecondText {
    int64_t unix_seconds = 0;
    bool valid = false;
    std::string text;
  };
  // Appends the line for `entry` at `at` (with no newline) to `out`.
  static void AppendLine(const gateway::AccessLogEntry& entry, absl::Time at, SecondText& second,
                         std::string& out);

  AccessLog(FILE* file, bool owned);
  void WriterMain();
  // Takes every pending line and writes it to the file, in order with any
  // other caller's.
  void WritePending() ABSL_LOCKS_EXCLUDED(mu_, file_mu_);

  FILE* const file_;
  const bool owned_;
  // Held while taking the pending lines and writing them, so that batches
  // reach the file in the order they were taken.
  absl::Mutex file_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::string writing_ ABSL_GUARDED_BY(file_mu_);  // the batch being written; keeps its capacity
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::string pending_ ABSL_GUARDED_BY(mu_);  // formatted lines, newline-terminated
  SecondText second_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace kiln::scheduler
