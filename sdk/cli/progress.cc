// The deploy progress line (progress.h).
#include "sdk/cli/progress.h"

#include "absl/strings/str_cat.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk::cli {
namespace {

// Back to the start of the line, and erase it.
constexpr absl::string_view kEraseLine = "\r\033[K";

}  // namespace

bool ShowUploadProgress(bool json, bool stderr_is_tty, uint64_t request_bytes) {
  return !json && stderr_is_tty && request_bytes >= kProgressMinBytes;
}

std::string UploadProgressText(absl::string_view name, uint64_t sent, uint64_t total) {
  const uint64_t percent = total == 0 ? 100 : sent * 100 / total;
  return absl::StrCat("Uploading ", name, ": ", HumanBytes(sent), " / ", HumanBytes(total), " (",
                      percent, "%)");
}

ProgressLine::ProgressLine(FILE* terminal, std::string name, absl::Duration min_interval,
                           std::function<absl::Time()> now)
    : terminal_(terminal),
      name_(std::move(name)),
      min_interval_(min_interval),
      now_(std::move(now)) {}

ProgressLine::~ProgressLine() { Clear(); }

void ProgressLine::Update(uint64_t sent, uint64_t total) {
  if (sent >= total) {
    Draw(absl::StrCat("Uploaded ", HumanBytes(total), "; building ", name_, "..."));
    return;
  }
  const absl::Time now = now_();
  if (drawn_ && now - last_draw_ < min_interval_) return;
  last_draw_ = now;
  Draw(UploadProgressText(name_, sent, total));
}

void ProgressLine::Draw(const std::string& text) {
  const std::string line = absl::StrCat(kEraseLine, text);
  std::fwrite(line.data(), 1, line.size(), terminal_);
  std::fflush(terminal_);
  drawn_ = true;
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::fwrite(kEraseLine.data(), 1, kEraseLine.size(), terminal_);
  std::fflush(terminal_);
  drawn_ = false;
}

}  // namespace kiln::sdk::cli
