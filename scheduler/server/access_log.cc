// The gateway's access log file.
#include "scheduler/server/access_log.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace kiln::scheduler {

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false));
  FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("opening ", path, ": ", std::strerror(errno)));
  }
  std::setvbuf(file, nullptr, _IOFBF, 64 << 10);
  return std::unique_ptr<AccessLog>(new AccessLog(file, true));
}

AccessLog::AccessLog(FILE* file, bool owned) : file_(file), owned_(owned) {
  flusher_ = std::thread([this] { FlusherMain(); });
}

AccessLog::~AccessLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  flusher_.join();
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

void AccessLog::FlusherMain() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    if (dirty_) {
      std::fflush(file_);
      dirty_ = false;
    }
  }
}

std::string AccessLog::Format(const gateway::AccessLogEntry& entry, absl::Time at) {
  const std::string function =
      entry.function.empty() ? "-" : absl::StrCat(entry.tenant, "/", entry.function, "@", entry.version);
  return absl::StrFormat("%s %s %s %d %dB %.3fms %s %s %s %s",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone()),
                         entry.request_id, function, entry.status, entry.bytes,
                         absl::ToDoubleMilliseconds(entry.duration),
                         entry.function.empty() ? "-" : entry.cold ? "cold" : "warm",
                         entry.method, entry.host.empty() ? "-" : entry.host, entry.path);
}

void AccessLog::Write(const gateway::AccessLogEntry& entry) {
  std::string line = Format(entry, absl::Now());
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  dirty_ = true;
}

}  // namespace kiln::scheduler
