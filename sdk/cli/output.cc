// CLI output and error descriptions (output.h).
#include "sdk/cli/output.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "sdk/client/client.h"

namespace kiln::sdk::cli {
namespace {

std::string Source(absl::string_view source) {
  if (source == "default" || source == "none" || source.empty()) return "";
  return absl::StrCat(" (from ", source, ")");
}

}  // namespace

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string FormatTime(int64_t unix_ms, bool millis) {
  return absl::FormatTime(millis ? "%Y-%m-%d %H:%M:%E3S" : "%Y-%m-%d %H:%M:%S",
                          absl::FromUnixMillis(unix_ms), absl::LocalTimeZone());
}

void Output::Line(absl::string_view text) const {
  if (json_) return;
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Output::Raw(absl::string_view bytes) const {
  if (json_) return;
  std::fwrite(bytes.data(), 1, bytes.size(), out_);
  std::fflush(out_);
}

void Output::Note(absl::string_view text) const {
  if (json_) return;
  std::fwrite(text.data(), 1, text.size(), err_);
  std::fputc('\n', err_);
  std::fflush(err_);
}

void Output::Json(const nlohmann::json& value) const {
  if (!json_) return;
  std::string text = DumpJson(value);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

nlohmann::json Output::ErrorJson(const Failure& failure) {
  nlohmann::json error = failure.fields;
  error["code"] = failure.code;
  error["message"] = failure.message;
  if (!failure.hint.empty()) error["hint"] = failure.hint;
  error["exit_code"] = failure.exit_code;
  return error;
}

int Output::Fail(const Failure& failure) const {
  if (json_) {
    Json({{"error", ErrorJson(failure)}});
    return failure.exit_code;
  }
  std::string text = absl::StrCat("kiln: ", failure.message);
  if (failure.detail.empty()) {
    if (!failure.hint.empty()) absl::StrAppend(&text, " — ", failure.hint);
    absl::StrAppend(&text, "\n");
  } else {
    absl::StrAppend(&text, "\n", failure.detail);
    if (!absl::EndsWith(failure.detail, "\n")) absl::StrAppend(&text, "\n");
    if (!failure.hint.empty()) absl::StrAppend(&text, failure.hint, "\n");
  }
  std::fwrite(text.data(), 1, text.size(), err_);
  std::fflush(err_);
  return failure.exit_code;
}

Failure DescribeStatus(const absl::Status& status, const CallContext& context) {
  Failure failure;
  failure.code = std::string(absl::StatusCodeToString(status.code()));
  failure.message = std::string(status.message());
  const std::string token_file = absl::StrCat(context.data_dir, "/default.token");
  if (IsUnreachable(status)) {
    failure.exit_code = kExitUnreachable;
    failure.code = "UNREACHABLE";
    failure.message =
        absl::StrCat("cannot reach the Kiln API at ", context.api, Source(context.api_source));
    failure.hint = "is `kiln up` running? Set --api or KILN_API.";
    if (absl::StrContains(status.message(), "http1") ||
        absl::StrContains(status.message(), "Failed parsing HTTP/2")) {
      failure.message = absl::StrCat("the server at ", context.api, Source(context.api_source),
                                     " is not the Kiln API (it does not speak gRPC)");
      failure.hint =
          "is that the HTTP port? Point --api or KILN_API at the API port (default 7000).";
    }
    failure.fields["detail"] = std::string(status.message());
    return failure;
  }
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      failure.exit_code = kExitAuth;
      if (context.token_source == "none") {
        failure.message = absl::StrCat("no API token: none was given and ", token_file,
                                       " does not exist (the API at ", context.api,
                                       " said: ", status.message(), ")");
        failure.hint =
            "run kiln where `kiln up` keeps its data dir, or pass --token / set KILN_TOKEN "
            "(`kiln up` writes the default tenant's token to .kiln/default.token)";
      } else {
        failure.message = absl::StrCat("the Kiln API at ", context.api, " refused the token",
                                       Source(context.token_source), ": ", status.message());
        failure.hint = absl::StrCat("use the token `kiln up` wrote to ", token_file,
                                    ", or set --token / KILN_TOKEN");
      }
      break;
    case absl::StatusCode::kPermissionDenied:
      failure.exit_code = kExitAuth;
      failure.message = absl::StrCat("the token", Source(context.token_source),
                                     " is not allowed to do this in tenant \"", context.tenant,
                                     "\": ", status.message());
      failure.hint = "use the token of the tenant that owns the function (--token / KILN_TOKEN)";
      break;
    case absl::StatusCode::kNotFound:
      if (!context.function.empty()) {
        failure.message = absl::StrCat("unknown function \"", context.function, "\" in tenant \"",
                                       context.tenant, "\"");
        failure.hint = "see `kiln list` for what is deployed, or deploy it with `kiln deploy PATH`";
        failure.fields["detail"] = std::string(status.message());
      }
      break;
    case absl::StatusCode::kDeadlineExceeded:
      failure.hint =
          "the platform may be busy; try again, or allow more time with --timeout SECONDS";
      break;
    case absl::StatusCode::kUnavailable:
      failure.message =
          absl::StrCat("the Kiln API at ", context.api, " is unavailable: ", status.message());
      failure.hint = "the platform may be starting or draining; try again in a moment";
      break;
    case absl::StatusCode::kUnimplemented:
      failure.message = absl::StrCat("the Kiln API at ", context.api,
                                     " does not support this call: ", status.message());
      failure.hint = "is --api pointing at kiln-scheduler's API port, and is it as new as kiln?";
      break;
    case absl::StatusCode::kResourceExhausted:
      if (absl::StrContains(status.message(), "larger than max")) {
        // gRPC's own message-size cap, not a Kiln quota.
        failure.hint =
            "the API refused a message this large; bundles up to 10 MiB must be "
            "accepted, so the scheduler's gRPC receive limit is too low (a Kiln bug)";
      } else if (absl::StrContains(status.message(), "worker")) {
        // The scheduler refuses what would not fit in a frame to a worker
        // ("the bundle ... is larger than a worker accepts", "a worker loads
        // at most ...") — a platform size limit, not a quota.
        failure.hint =
            "make the bundle (and what its top level builds) smaller: this is the size a worker "
            "can load, not a quota";
      } else {
        failure.hint = "a quota or limit was reached; free some capacity or ask for a higher quota";
      }
      break;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      failure.hint = "this is likely a Kiln bug; kiln-scheduler's output says more";
      break;
    default:
      break;
  }
  return failure;
}

}  // namespace kiln::sdk::cli
