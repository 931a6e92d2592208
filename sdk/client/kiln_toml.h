// kiln.toml: a function folder's configuration (name, main module, routes,
// vars, secret names, limits, queue consumers, cron triggers), parsed into the
// FunctionConfig a deploy carries. Strict: an unknown key or a value of the
// wrong type is an error naming the key and its line. Used by
// function_loader.h on the deploy path; the key reference is in sdk/README.md.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::sdk {

// What a kiln.toml says. Keys it leaves out stay empty / zero (zero limits
// mean "the platform default").
struct FunctionManifest {
  std::string name;                  // `name`; "" when absent
  std::string main;                  // `main`, without a leading "./"; "" when absent
  std::vector<std::string> exclude;  // `exclude`: glob patterns of files to leave out
  kiln::v1::FunctionConfig config;   // everything else
};

// Parses kiln.toml text. `origin` names the file in messages ("hello/kiln.toml").
// InvalidArgument, as "<origin>:<line>:<column>: <what>; <what to do>", for a
// TOML syntax error, an unknown key (with a did-you-mean when one is close),
// a value of the wrong type, a limit out of range, a queue consumer without a
// queue, or a cron that is not five fields.
//
//   name = "hello"
//   main = "src/index.js"
//   [vars]
//   GREETING = "hi"
//   [limits]
//   cpu_ms = 100
absl::StatusOr<FunctionManifest> ParseKilnToml(absl::string_view text, absl::string_view origin);

}  // namespace kiln::sdk
