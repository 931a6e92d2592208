// The gateway's access log file: line formatting, and the writer thread.
#include "scheduler/server/access_log.h"

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace kiln::scheduler {
namespace {

// Room for any 64-bit integer in decimal.
using NumberBuffer = char[absl::numbers_internal::kFastToBufferSize];

template <typename Integer>
absl::string_view Decimal(Integer value, NumberBuffer& buffer) {
  return absl::string_view(buffer, absl::numbers_internal::FastIntToBuffer(value, buffer) - buffer);
}

// `value` % 1000 as three digits.
void ThreeDigits(int64_t value, char* out) {
  out[0] = static_cast<char>('0' + value / 100 % 10);
  out[1] = static_cast<char>('0' + value / 10 % 10);
  out[2] = static_cast<char>('0' + value % 10);
}

// "%.3f" of `duration` in milliseconds, as printf prints it, in `buffer`
// (or, rarely, `fallback`). Integer arithmetic for the usual case; printf
// itself (through StrFormat) for a negative or long duration, or a tie at
// exactly half a microsecond, where the double's rounding decides.
absl::string_view Milliseconds(absl::Duration duration, NumberBuffer& buffer, std::string& fallback) {
  if (duration >= absl::ZeroDuration() && duration < absl::Hours(1)) {
    const int64_t nanos = absl::ToInt64Nanoseconds(duration);  // truncated
    const bool more = duration > absl::Nanoseconds(nanos);     // a fraction of a nanosecond
    const int64_t rest = nanos % 1000;
    if (rest != 500 || more) {
      const int64_t micros = nanos / 1000 + (rest >= 500 ? 1 : 0);  // < 3.6e9: fits the buffer
      char* end = absl::numbers_internal::FastIntToBuffer(micros / 1000, buffer);
      *end++ = '.';
      ThreeDigits(micros % 1000, end);
      return absl::string_view(buffer, end + 3 - buffer);
    }
  }
  fallback = absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
  return fallback;
}

// Appends every piece to `out` with one resize.
void AppendPieces(std::string& out, std::initializer_list<absl::string_view> pieces) {
  size_t size = 0;
  for (absl::string_view piece : pieces) size += piece.size();
  size_t at = out.size();
  out.resize(at + size);
  for (absl::string_view piece : pieces) {
    if (piece.empty()) continue;
    std::memcpy(&out[at], piece.data(), piece.size());
    at += piece.size();
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<AccessLog>(new AccessLog(stdout, false));
  FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("opening ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AccessLog>(new AccessLog(file, true));
}

AccessLog::AccessLog(FILE* file, bool owned) : file_(file), owned_(owned) {
  writer_ = std::thread([this] { WriterMain(); });
}

AccessLog::~AccessLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  writer_.join();
  WritePending();
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

void AccessLog::WriterMain() {
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_ && pending_.size() < kWakeBytes) wake_.WaitWithTimeout(&mu_, absl::Seconds(1));
      stopping = stopping_;
    }
    WritePending();
    if (stopping) return;
  }
}

void AccessLog::WritePending() {
  absl::MutexLock file_lock(&file_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (pending_.empty()) return;
    writing_.swap(pending_);
  }
  std::fwrite(writing_.data(), 1, writing_.size(), file_);
  std::fflush(file_);
  writing_.clear();
  // A burst's buffer is not kept for ever.
  if (writing_.capacity() > 4 * kWakeBytes) std::string().swap(writing_);
}

void AccessLog::AppendLine(const gateway::AccessLogEntry& entry, absl::Time at, SecondText& second,
                           std::string& out) {
  // The time: "YYYY-MM-DDTHH:MM:SS" from the cache, then ".mmmZ".
  std::string infinite;
  absl::string_view time, fraction;
  char fraction_text[5] = {'.', '0', '0', '0', 'Z'};
  if (at == absl::InfiniteFuture() || at == absl::InfinitePast()) {
    infinite = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone());
    time = infinite;
  } else {
    const int64_t unix_seconds = absl::ToUnixSeconds(at);  // rounded down
    if (!second.valid || second.unix_seconds != unix_seconds) {
      second.text = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(unix_seconds),
                                     absl::UTCTimeZone());
      second.unix_seconds = unix_seconds;
      second.valid = true;
    }
    time = second.text;
    // %E3S: milliseconds, truncated.
    ThreeDigits(absl::ToInt64Milliseconds(at - absl::FromUnixSeconds(unix_seconds)), fraction_text + 1);
    fraction = absl::string_view(fraction_text, sizeof(fraction_text));
  }
  const bool matched = !entry.function.empty();
  NumberBuffer version, status, bytes, millis;
  std::string millis_fallback;
  AppendPieces(out, {time, fraction, " ", entry.request_id, " ",
                     // tenant/function@version, or "-"
                     matched ? absl::string_view(entry.tenant) : "-", matched ? "/" : "",
                     matched ? absl::string_view(entry.function) : "", matched ? "@" : "",
                     matched ? Decimal(entry.version, version) : "", " ",
                     Decimal(entry.status, status), " ", Decimal(entry.bytes, bytes),
                     "B ", Milliseconds(entry.duration, millis, millis_fallback), "ms ",
                     !matched ? "-" : entry.cold ? "cold" : "warm", " ", entry.method, " ",
                     entry.host.empty() ? absl::string_view("-") : absl::string_view(entry.host), " ",
                     entry.path});
}

std::string AccessLog::Format(const gateway::AccessLogEntry& entry, absl::Time at) {
  SecondText second;
  std::string line;
  AppendLine(entry, at, second, line);
  return line;
}

void AccessLog::Write(const gateway::AccessLogEntry& entry) {
  const absl::Time now = absl::Now();
  bool backlog;
  {
    absl::MutexLock lock(&mu_);
    const size_t before = pending_.size();
    AppendLine(entry, now, second_, pending_);
    pending_.push_back('\n');
    if (before < kWakeBytes && pending_.size() >= kWakeBytes) wake_.Signal();
    backlog = pending_.size() > kMaxPendingBytes;
  }
  if (backlog) WritePending();
}

}  // namespace kiln::scheduler
