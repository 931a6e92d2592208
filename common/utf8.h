// IsUtf8: whether bytes are well-formed UTF-8, for inputs that must be text
// (secret values, which functions read as JavaScript strings). Used by the
// scheduler's deploy checks and the SDK's client-side copy of them.
#pragma once

#include "absl/strings/string_view.h"

namespace kiln {

// No overlong forms, surrogates, or code points past U+10FFFF. Abseil (the
// only library Kiln's leaf folders may use) has no such check.
bool IsUtf8(absl::string_view bytes);

}  // namespace kiln
