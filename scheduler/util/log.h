// One-line diagnostic logging for kiln-scheduler (Debian's Abseil has no
// absl/log): fleet changes, refused workers, deploys, shutdown. Lines go to
// stderr as "kiln-scheduler <UTC time> <component>: <message>".
#pragma once

#include "absl/strings/string_view.h"

namespace kiln::scheduler {

// Writes one line to stderr, atomically with respect to other Log calls.
// Thread-safe; never blocks on anything but the write itself.
void Log(absl::string_view component, absl::string_view message);

}  // namespace kiln::scheduler
