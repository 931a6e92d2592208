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

AccessLog::~AccessLog() {
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
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
  const absl::Time now = absl::Now();
  std::string line = Format(entry, now);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), file_);
  if (now - last_flush_ >= absl::Seconds(1)) {
    std::fflush(file_);
    last_flush_ = now;
  }
}

}  // namespace kiln::scheduler
