// Upload progress for `kiln deploy` (and `kiln dev`): one line on a terminal,
// rewritten in place as a large bundle goes out ("Uploading hello: 1.5 MiB /
// 3.0 MiB (50%)"), then "building", then erased before the result is printed.
// Only for people watching a terminal: never in --json mode, never when stderr
// is not a terminal, never for small bundles (ShowUploadProgress).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kiln::sdk::cli {

// Deploy requests smaller than this go out without a progress line: they are
// sent before anyone could read one.
inline constexpr uint64_t kProgressMinBytes = 512 * 1024;

// Whether a deploy of `request_bytes` should show progress: not --json, stderr
// a terminal, and at least kProgressMinBytes.
bool ShowUploadProgress(bool json, bool stderr_is_tty, uint64_t request_bytes);

// "Uploading hello: 1.5 MiB / 3.0 MiB (50%)".
std::string UploadProgressText(absl::string_view name, uint64_t sent, uint64_t total);

// One self-rewriting line on `terminal` (carriage return, then erase to end of
// line). Used from one thread. Redraws at most every `min_interval`, except
// that the first and the last update (sent == total) are always drawn.
class ProgressLine {
 public:
  ProgressLine(FILE* terminal, std::string name,
               absl::Duration min_interval = absl::Milliseconds(100),
               std::function<absl::Time()> now = &absl::Now);
  // Leaves the line erased.
  ~ProgressLine();

  // An Upload progress callback (client.h): redraws the line; at the end says
  // the bundle is uploaded and being built.
  void Update(uint64_t sent, uint64_t total);
  // Erases the line (idempotent), so the result can be printed in its place.
  void Clear();

 private:
  void Draw(const std::string& text);

  FILE* const terminal_;
  const std::string name_;
  const absl::Duration min_interval_;
  const std::function<absl::Time()> now_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

}  // namespace kiln::sdk::cli
