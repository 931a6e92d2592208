// How the `kiln` CLI reports: human text or one JSON document per result
// (--json), exit codes, and the translation of a failed API call into "what
// went wrong — what to do next". Every command prints through an Output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kiln::sdk::cli {

// The CLI's exit codes (documented in `kiln --help` and sdk/README.md).
enum ExitCode : int {
  kExitOk = 0,           // done
  kExitFailed = 1,       // the operation failed (bad config, build error, non-2xx, not found, ...)
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // cannot reach the Kiln API
  kExitAuth = 4,         // the API refused the token
};

// A failure to report.
struct Failure {
  int exit_code = kExitFailed;
  std::string code;  // machine-readable: "NOT_FOUND", "UNREACHABLE", "USAGE", "BUILD_FAILED", ...
  std::string message;  // what went wrong
  std::string hint;     // what to do next; may be empty
  std::string detail;   // more lines for humans (a source excerpt); may be empty
  nlohmann::json fields = nlohmann::json::object();  // extra members of the JSON error object
};

// What a failed call was about, for its error message.
struct CallContext {
  std::string api;           // HOST:PORT
  std::string api_source;    // "--api", "KILN_API", ".kiln/api.addr", "default"
  std::string token_source;  // "--token", "KILN_TOKEN", ".kiln/default.token", "none"
  std::string data_dir;      // where `kiln up` keeps api.addr and default.token
  std::string tenant;
  std::string function;  // the NAME argument, "" if none
};

// Turns a failed Client call into a Failure: unreachable -> exit 3 with "is
// `kiln up` running?", Unauthenticated / PermissionDenied -> exit 4 with where
// the token came from, NotFound -> "see `kiln list`", and so on.
Failure DescribeStatus(const absl::Status& status, const CallContext& context);

// stdout/stderr for one command. Human mode writes text; JSON mode writes one
// JSON value per line on stdout (errors too, as {"error": {...}}) and nothing
// on stderr, so `kiln --json ... | jq` sees everything.
class Output {
 public:
  explicit Output(bool json, FILE* out = stdout, FILE* err = stderr)
      : json_(json), out_(out), err_(err) {}

  bool json() const { return json_; }
  // A line of text on stdout (human mode only).
  void Line(absl::string_view text) const;
  // Bytes as they are on stdout (human mode only; e.g. a response body).
  void Raw(absl::string_view bytes) const;
  // A line on stderr (human mode only): progress and side remarks.
  void Note(absl::string_view text) const;
  // One JSON value on a line of stdout (JSON mode only).
  void Json(const nlohmann::json& value) const;
  // Reports `failure` (stderr in human mode, {"error": ...} on stdout in JSON
  // mode) and returns its exit code.
  int Fail(const Failure& failure) const;
  // The JSON error object Fail prints.
  static nlohmann::json ErrorJson(const Failure& failure);

 private:
  bool json_;
  FILE* out_;
  FILE* err_;
};

// "2023-11-14 22:13:20" (with ".123" when `millis`), in the local time zone.
std::string FormatTime(int64_t unix_ms, bool millis = false);

// JSON text with invalid UTF-8 replaced, never throwing.
std::string DumpJson(const nlohmann::json& value);

}  // namespace kiln::sdk::cli
