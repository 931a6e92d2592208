// Log: one fwrite per line under stdio's own lock.
#include "scheduler/util/log.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kiln::scheduler {

void Log(absl::string_view component, absl::string_view message) {
  std::string line = absl::StrCat("kiln-scheduler ",
                                  absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::UTCTimeZone()),
                                  " ", component, ": ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kiln::scheduler
