// Reading the location out of a failed deploy: the scheduler reports a syntax
// error or a top-level throw as "<file>:<line>:<column>: <JS message>"
// (worker/js), possibly after a prefix of its own. These helpers find that
// location and render the offending source line with a caret under the column,
// from the bundle the client sent.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::sdk {

// Where a build failed, and why.
struct BuildErrorLocation {
  std::string file;     // bundle path, e.g. "lib/util.js"
  int line = 0;         // 1-based
  int column = 0;       // 1-based; 0 when the message gave none
  std::string message;  // the text after "file:line:col: "
};

// Finds the first "<path>:<line>:<column>: " (or "<path>:<line>: ") in
// `error` whose path is a file of `bundle`; nullopt when there is none.
std::optional<BuildErrorLocation> FindBuildErrorLocation(absl::string_view error,
                                                         const kiln::v1::Bundle& bundle);

// The source line at `where` from `bundle`, and a caret line under its column:
//     3 |   return new Response("hi"
//       |                          ^
// Empty when the file or the line is not in the bundle. Tabs before the
// column are kept so the caret lines up.
std::string SourceExcerpt(const BuildErrorLocation& where, const kiln::v1::Bundle& bundle);

}  // namespace kiln::sdk
