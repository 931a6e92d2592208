// The Control-API subcommands of `kiln` (commands.h).
#include "sdk/cli/commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "sdk/cli/progress.h"
#include "sdk/client/build_error.h"
#include "sdk/client/endpoint.h"
#include "sdk/client/function_loader.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk::cli {
namespace {

namespace fs = std::filesystem;

ClientOptions ClientOptionsFor(const GlobalOptions& global) {
  ClientOptions options;
  if (global.timeout_s > 0) {
    absl::Duration timeout = absl::Milliseconds(static_cast<int64_t>(global.timeout_s * 1000));
    options.call_timeout = timeout;
    options.deploy_timeout = timeout;
    options.invoke_timeout = timeout;
  }
  return options;
}

const char* ReasonPhrase(uint32_t status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// What a failed invocation means and what to do about it.
Failure DescribeInvocationError(const kiln::v1::InvocationError& error, const std::string& name) {
  Failure failure;
  failure.code = kiln::v1::InvocationError::Kind_Name(error.kind());
  const std::string said = error.message().empty() ? "" : absl::StrCat(" (", error.message(), ")");
  switch (error.kind()) {
    case kiln::v1::InvocationError::EXCEPTION:
      failure.message = absl::StrCat(name, " threw an exception:");
      failure.detail = error.stack().empty() ? error.message() : error.stack();
      failure.hint = absl::StrCat("see `kiln logs ", name, "` for its console output");
      break;
    case kiln::v1::InvocationError::CPU_LIMIT:
      failure.message = absl::StrCat(name, " exceeded its CPU time limit", said);
      failure.hint =
          "raise [limits] cpu_ms in kiln.toml (at most 30000), or do less work per request";
      break;
    case kiln::v1::InvocationError::WALL_LIMIT:
      failure.message = absl::StrCat(name, " exceeded its wall-time limit", said);
      failure.hint =
          "raise [limits] wall_ms in kiln.toml, or make sure every promise it awaits settles";
      break;
    case kiln::v1::InvocationError::MEMORY_LIMIT:
      failure.message = absl::StrCat(name, " exceeded its memory limit", said);
      failure.hint = "raise [limits] heap_mb in kiln.toml, or hold less in memory at once";
      break;
    case kiln::v1::InvocationError::RESPONSE_TOO_LARGE:
      failure.message = absl::StrCat(name, "'s response is larger than its limit", said);
      failure.hint = "raise [limits] response_body_mb in kiln.toml, or send less";
      break;
    case kiln::v1::InvocationError::NO_HANDLER:
      failure.message = absl::StrCat(name, " has no handler for this event", said);
      failure.hint =
          "export one from the main module: export default { async fetch(request, env, ctx) { ... "
          "} }";
      break;
    case kiln::v1::InvocationError::NOT_FOUND:
      failure.message = absl::StrCat("no such function or version", said);
      failure.hint = "see `kiln list` and `kiln versions NAME`";
      break;
    case kiln::v1::InvocationError::UNAVAILABLE:
      failure.message = absl::StrCat("no worker could take the invocation", said);
      failure.hint = "it did not run; try again (is the platform starting or out of workers?)";
      break;
    case kiln::v1::InvocationError::WORKER_LOST:
      failure.message = absl::StrCat("the worker running ", name, " died before answering", said);
      failure.hint = "it was not retried (it may have partly run); see `kiln logs` and try again";
      break;
    case kiln::v1::InvocationError::CANCELLED:
      failure.message = absl::StrCat("the invocation was cancelled", said);
      break;
    default:
      failure.message = absl::StrCat("the invocation failed inside the platform", said);
      failure.hint = "this is a Kiln bug; the scheduler's and workers' logs say more";
      break;
  }
  failure.fields["kind"] = failure.code;
  if (!error.stack().empty()) failure.fields["stack"] = error.stack();
  return failure;
}

// The secret named in the scheduler's "secret \"NAME\" is not set in tenant"
// refusal, if that is what `status` is.
std::optional<std::string> UnsetSecret(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return std::nullopt;
  constexpr absl::string_view kPrefix = "secret \"";
  absl::string_view message = status.message();
  size_t at = message.find(kPrefix);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = message.substr(at + kPrefix.size());
  size_t end = rest.find('"');
  if (end == absl::string_view::npos || !absl::StrContains(rest, "is not set")) return std::nullopt;
  return std::string(rest.substr(0, end));
}

std::string UnsetSecretHint(const std::string& secret) {
  return absl::StrCat("set it with `kiln secrets set ", secret,
                      "` (see `kiln secrets list`), or take it out of kiln.toml's secrets");
}

nlohmann::json VersionJson(const kiln::v1::VersionInfo& version, uint64_t active) {
  return {{"version", version.version()},
          {"created_ms", version.created_ms()},
          {"bundle_sha256", version.bundle_sha256()},
          {"active", version.version() == active}};
}

nlohmann::json FunctionJson(const kiln::v1::FunctionInfo& function) {
  return {{"name", function.name()},
          {"tenant", function.tenant()},
          {"active_version", function.active_version()},
          {"url", function.url()},
          {"deployed_ms", function.active().created_ms()}};
}

// Pads every cell of a column to its widest, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after,
// and calls `on_signal` from a watcher thread when one arrives. Call before
// gRPC starts its threads.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void()> on_signal) : on_signal_(std::move(on_signal)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this] {
      timespec tick{0, 100 * 1000 * 1000};
      while (!stop_.load()) {
        if (sigtimedwait(&set_, nullptr, &tick) > 0) {
          signalled_ = true;
          on_signal_();
          return;
        }
      }
    });
  }
  ~SignalWatcher() {
    stop_ = true;
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  bool signalled() const { return signalled_.load(); }

 private:
  std::function<void()> on_signal_;
  sigset_t set_;
  sigset_t previous_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> signalled_{false};
  std::thread thread_;
};

}  // namespace

absl::StatusOr<Session> OpenSession(const GlobalOptions& global, Failure* failure) {
  EndpointInputs inputs;
  inputs.api_flag = global.api;
  inputs.token_flag = global.token;
  inputs.data_dir = global.data_dir;
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(inputs);
  if (!endpoint.ok()) {
    failure->exit_code = kExitUsage;
    failure->code = "USAGE";
    failure->message = std::string(endpoint.status().message());
    failure->hint = "give the API as HOST:PORT, e.g. --api 127.0.0.1:7000";
    return endpoint.status();
  }
  ClientOptions options = ClientOptionsFor(global);
  options.api = endpoint->api;
  options.token = endpoint->token;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) {
    failure->exit_code = kExitUsage;
    failure->code = "USAGE";
    failure->message = std::string(client.status().message());
    return client.status();
  }
  return SessionFor(std::move(client).value(), global, endpoint->api_source,
                    endpoint->token_source);
}

Session SessionFor(std::unique_ptr<Client> client, const GlobalOptions& global,
                   const std::string& api_source, const std::string& token_source) {
  Session session;
  session.context.api = client->api();
  session.context.api_source = api_source;
  session.context.token_source = token_source;
  session.context.data_dir = global.data_dir;
  session.context.tenant = client->tenant();
  session.client = std::move(client);
  return session;
}

int DeployLoaded(Session& session, const DeployOptions& options,
                 const absl::StatusOr<kiln::v1::DeployRequest>& request, const Output& out,
                 bool as_event, absl::Time start) {
  auto fail = [&](Failure failure) {
    if (as_event && out.json()) {
      out.Json({{"event", "deploy_failed"}, {"error", Output::ErrorJson(failure)}});
      return failure.exit_code;
    }
    return out.Fail(failure);
  };
  if (!request.ok()) {
    Failure failure;
    failure.exit_code =
        request.status().code() == absl::StatusCode::kNotFound ? kExitUsage : kExitFailed;
    failure.code =
        request.status().code() == absl::StatusCode::kNotFound ? "USAGE" : "BAD_FUNCTION";
    failure.message = std::string(request.status().message());
    return fail(failure);
  }
  const std::string name = request->name();
  uint64_t bytes = 0;
  for (const auto& file : request->bundle().files()) bytes += file.content().size();
  const int files = request->bundle().files_size();

  // A big bundle on a terminal: show the upload going out.
  std::optional<ProgressLine> progress;
  if (ShowUploadProgress(out.json(), isatty(STDERR_FILENO) == 1, request->ByteSizeLong())) {
    progress.emplace(stderr, name);
  }
  UploadProgress on_progress;
  if (progress.has_value()) {
    on_progress = [&progress](uint64_t sent, uint64_t total) { progress->Update(sent, total); };
  }
  absl::StatusOr<kiln::v1::DeployResponse> deployed = session.client->Deploy(*request, on_progress);
  if (progress.has_value()) progress->Clear();
  const int64_t elapsed_ms = absl::ToInt64Milliseconds(absl::Now() - start);
  if (!deployed.ok()) {
    session.context.function = "";
    Failure failure = DescribeStatus(deployed.status(), session.context);
    std::optional<BuildErrorLocation> where;
    if (deployed.status().code() == absl::StatusCode::kInvalidArgument ||
        deployed.status().code() == absl::StatusCode::kFailedPrecondition) {
      where = FindBuildErrorLocation(deployed.status().message(), request->bundle());
    }
    if (where.has_value()) {
      // Show the location as a local path, so terminals and editors can open it.
      fs::path root = fs::is_directory(options.path) ? fs::path(options.path)
                                                     : fs::path(options.path).parent_path();
      std::string local = (root / where->file).lexically_normal().string();
      std::string position = where->column > 0 ? absl::StrCat(where->line, ":", where->column)
                                               : absl::StrCat(where->line);
      failure.code = "BUILD_FAILED";
      failure.message = absl::StrCat("deploy of \"", name, "\" failed: its code did not build");
      failure.detail = absl::StrCat(local, ":", position, ": ", where->message, "\n",
                                    SourceExcerpt(*where, request->bundle()));
      failure.hint = "Nothing changed on the server. Fix the code and deploy again.";
      failure.fields["file"] = where->file;
      failure.fields["local_path"] = local;
      failure.fields["line"] = where->line;
      failure.fields["column"] = where->column;
      failure.fields["js_message"] = where->message;
      failure.fields["server_message"] = std::string(deployed.status().message());
    } else if (failure.exit_code == kExitFailed) {
      failure.message = absl::StrCat("deploy of \"", name, "\" failed: ", failure.message);
      if (std::optional<std::string> secret = UnsetSecret(deployed.status())) {
        failure.code = "SECRET_NOT_SET";
        failure.hint = absl::StrCat("nothing changed on the server; ", UnsetSecretHint(*secret),
                                    ", then deploy again");
        failure.fields["secret"] = *secret;
      } else if (failure.hint.empty()) {
        failure.hint = "nothing changed on the server; fix it and deploy again";
      }
    }
    failure.fields["name"] = name;
    return fail(failure);
  }
  if (out.json()) {
    nlohmann::json result = {{"name", name},
                             {"tenant", session.client->tenant()},
                             {"version", deployed->version()},
                             {"url", deployed->url()},
                             {"bundle_sha256", deployed->bundle_sha256()},
                             {"build_ms", deployed->build_ms()},
                             {"elapsed_ms", elapsed_ms},
                             {"files", files},
                             {"bytes", bytes}};
    if (as_event) result["event"] = "deployed";
    out.Json(result);
  } else {
    out.Line(absl::StrFormat("Deployed %s version %d in %.2f s (build %d ms; %d %s, %s)", name,
                             deployed->version(), elapsed_ms / 1000.0, deployed->build_ms(), files,
                             files == 1 ? "file" : "files", HumanBytes(bytes)));
    out.Line(absl::StrCat("  ", deployed->url()));
  }
  return kExitOk;
}

int RunDeploy(const GlobalOptions& global, const DeployOptions& options) {
  Output out(global.json);
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  const absl::Time start = absl::Now();
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunction(options.path, options.name);
  return DeployLoaded(*session, options, request, out, /*as_event=*/false, start);
}

int RunInvoke(const GlobalOptions& global, const InvokeOptions& options) {
  Output out(global.json);
  HttpCall call;
  call.path = options.path.empty() ? "/" : options.path;
  call.method = options.method.empty() ? (options.has_data ? "POST" : "GET")
                                       : absl::AsciiStrToUpper(options.method);
  for (const std::string& header : options.headers) {
    size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      Failure failure;
      failure.exit_code = kExitUsage;
      failure.code = "USAGE";
      failure.message = absl::StrCat("--header \"", header, "\" is not NAME:VALUE");
      failure.hint = "write it like --header 'content-type: application/json'";
      return out.Fail(failure);
    }
    call.headers.emplace_back(
        std::string(absl::StripAsciiWhitespace(absl::string_view(header).substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(absl::string_view(header).substr(colon + 1))));
  }
  if (options.has_data) {
    if (absl::StartsWith(options.data, "@")) {
      const std::string file = options.data.substr(1);
      if (file == "-") {
        call.body.assign(std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>());
      } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
          Failure failure;
          failure.exit_code = kExitUsage;
          failure.code = "USAGE";
          failure.message = absl::StrCat("cannot read --data file ", file);
          failure.hint = "give an existing file after '@', or the body itself without '@'";
          return out.Fail(failure);
        }
        call.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    } else {
      call.body = options.data;
    }
  }
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  session->context.function = options.name;
  absl::StatusOr<kiln::v1::InvokeResponse> response =
      session->client->InvokeHttp(options.name, call);
  if (!response.ok()) return out.Fail(DescribeStatus(response.status(), session->context));

  const kiln::v1::InvocationResult& result = response->result();
  const std::string meta =
      absl::StrFormat("(version %d, %s, cpu %.1f ms, wall %.1f ms, request %s)",
                      response->version(), result.cold() ? "cold" : "warm",
                      result.cpu_us() / 1000.0, result.wall_us() / 1000.0, response->request_id());
  nlohmann::json json = {{"request_id", response->request_id()},
                         {"version", response->version()},
                         {"cold", result.cold()},
                         {"cpu_us", result.cpu_us()},
                         {"wall_us", result.wall_us()}};
  if (result.has_error()) {
    Failure failure = DescribeInvocationError(result.error(), options.name);
    failure.fields["request_id"] = response->request_id();
    out.Note(meta);
    if (out.json()) {
      json["error"] = Output::ErrorJson(failure);
      out.Json(json);
      return failure.exit_code;
    }
    return out.Fail(failure);
  }
  if (!result.has_http()) {
    Failure failure;
    failure.code = "INTERNAL";
    failure.message = "the platform answered an HTTP invocation without an HTTP response";
    failure.hint = "this is a Kiln bug";
    return out.Fail(failure);
  }
  const kiln::v1::HttpResponse& http = result.http();
  const int exit_code = http.status() >= 200 && http.status() < 300 ? kExitOk : kExitFailed;
  if (out.json()) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& header : http.headers()) {
      headers.push_back({{"name", header.name()}, {"value", header.value()}});
    }
    json["status"] = http.status();
    json["headers"] = headers;
    // Text bodies as text; anything that is not UTF-8 as base64.
    const bool utf8 = IsUtf8(http.body());
    if (utf8) {
      json["body"] = http.body();
    } else {
      json["body_base64"] = absl::Base64Escape(http.body());
    }
    out.Json(json);
    return exit_code;
  }
  std::string head = absl::StrCat("HTTP ", http.status());
  if (const char* reason = ReasonPhrase(http.status()); *reason)
    absl::StrAppend(&head, " ", reason);
  out.Line(head);
  for (const auto& header : http.headers())
    out.Line(absl::StrCat(header.name(), ": ", header.value()));
  out.Line("");
  out.Raw(http.body());
  if (!http.body().empty() && http.body().back() != '\n' && isatty(STDOUT_FILENO)) out.Raw("\n");
  out.Note(meta);
  return exit_code;
}

int RunList(const GlobalOptions& global) {
  Output out(global.json);
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  absl::StatusOr<std::vector<kiln::v1::FunctionInfo>> functions = session->client->ListFunctions();
  if (!functions.ok()) return out.Fail(DescribeStatus(functions.status(), session->context));
  std::sort(functions->begin(), functions->end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  if (out.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& function : *functions) list.push_back(FunctionJson(function));
    out.Json({{"tenant", session->client->tenant()}, {"functions", list}});
    return kExitOk;
  }
  if (functions->empty()) {
    out.Note(absl::StrCat("No functions in tenant \"", session->client->tenant(),
                          "\" yet — deploy one with `kiln deploy PATH`."));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "VERSION", "DEPLOYED", "URL"}};
  for (const auto& function : *functions) {
    rows.push_back(
        {function.name(), absl::StrCat(function.active_version()),
         function.active().created_ms() > 0 ? FormatTime(function.active().created_ms()) : "-",
         function.url()});
  }
  out.Raw(Table(rows));
  return kExitOk;
}

int RunVersions(const GlobalOptions& global, const std::string& name) {
  Output out(global.json);
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  session->context.function = name;
  absl::StatusOr<kiln::v1::ListVersionsResponse> versions = session->client->ListVersions(name);
  if (!versions.ok()) return out.Fail(DescribeStatus(versions.status(), session->context));
  // Newest first (the API answers oldest first).
  std::sort(versions->mutable_versions()->begin(), versions->mutable_versions()->end(),
            [](const auto& a, const auto& b) { return a.version() > b.version(); });
  if (out.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& version : versions->versions()) {
      list.push_back(VersionJson(version, versions->active_version()));
    }
    out.Json({{"name", name}, {"active_version", versions->active_version()}, {"versions", list}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"", "VERSION", "CREATED", "BUNDLE"}};
  for (const auto& version : versions->versions()) {
    rows.push_back({version.version() == versions->active_version() ? "*" : "",
                    absl::StrCat(version.version()), FormatTime(version.created_ms()),
                    version.bundle_sha256().substr(0, 12)});
  }
  out.Raw(Table(rows));
  out.Note(absl::StrCat("* active. Switch with `kiln rollback ", name, " --to VERSION`."));
  return kExitOk;
}

int RunRollback(const GlobalOptions& global, const std::string& name, uint64_t to_version) {
  Output out(global.json);
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  session->context.function = name;
  absl::StatusOr<kiln::v1::FunctionInfo> before = session->client->GetFunction(name);
  if (!before.ok()) return out.Fail(DescribeStatus(before.status(), session->context));
  absl::StatusOr<kiln::v1::FunctionInfo> after = session->client->Rollback(name, to_version);
  if (!after.ok()) {
    Failure failure = DescribeStatus(after.status(), session->context);
    if (after.status().code() == absl::StatusCode::kNotFound ||
        after.status().code() == absl::StatusCode::kFailedPrecondition) {
      failure.message = absl::StrCat("cannot roll ", name, " back: ", after.status().message());
      failure.hint = absl::StrCat("see `kiln versions ", name, "` for the versions there are");
      if (std::optional<std::string> secret = UnsetSecret(after.status())) {
        failure.code = "SECRET_NOT_SET";
        failure.hint = UnsetSecretHint(*secret);
        failure.fields["secret"] = *secret;
      }
    }
    return out.Fail(failure);
  }
  if (out.json()) {
    out.Json({{"name", name},
              {"active_version", after->active_version()},
              {"previous_version", before->active_version()},
              {"url", after->url()}});
    return kExitOk;
  }
  out.Line(absl::StrCat("Rolled ", name, " back: version ", after->active_version(),
                        " is active (was ", before->active_version(), ")"));
  out.Line(absl::StrCat("  ", after->url()));
  return kExitOk;
}

int RunDelete(const GlobalOptions& global, const std::string& name, bool yes) {
  Output out(global.json);
  if (!yes && isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "Delete %s and all its versions? This cannot be undone. [y/N] ",
                 name.c_str());
    std::fflush(stderr);
    std::string answer;
    std::getline(std::cin, answer);
    answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
    if (answer != "y" && answer != "yes") {
      Failure failure;
      failure.code = "ABORTED";
      failure.message = absl::StrCat(name, " was not deleted");
      failure.hint = "answer y to delete, or pass --yes";
      return out.Fail(failure);
    }
  }
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  session->context.function = name;
  absl::Status deleted = session->client->DeleteFunction(name);
  if (!deleted.ok()) return out.Fail(DescribeStatus(deleted, session->context));
  out.Json({{"deleted", name}});
  out.Line(absl::StrCat("Deleted ", name, "."));
  return kExitOk;
}

int RunLogs(const GlobalOptions& global, const LogsOptions& options) {
  Output out(global.json);
  std::atomic<LogStream*> active{nullptr};
  // Ctrl-C ends a follow cleanly. The watcher starts before gRPC's threads so
  // they inherit the blocked mask and the signal reaches only the watcher.
  SignalWatcher watcher([&] {
    if (LogStream* stream = active.load()) stream->Cancel();
  });
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  session->context.function = options.name;
  absl::StatusOr<std::unique_ptr<LogStream>> stream =
      session->client->TailLogs(options.name, options.follow, options.backlog);
  if (!stream.ok()) return out.Fail(DescribeStatus(stream.status(), session->context));
  active = stream->get();
  if (watcher.signalled()) (*stream)->Cancel();
  int count = 0;
  while (true) {
    absl::StatusOr<std::optional<kiln::v1::LogEntry>> entry = (*stream)->Next();
    if (!entry.ok()) {
      active = nullptr;
      return out.Fail(DescribeStatus(entry.status(), session->context));
    }
    if (!entry->has_value()) break;
    const kiln::v1::LogEntry& log = **entry;
    ++count;
    std::string level = kiln::v1::LogEntry::Level_Name(log.level());
    if (log.level() == kiln::v1::LogEntry::LEVEL_UNSPECIFIED) level = "LOG";
    if (out.json()) {
      out.Json({{"timestamp_ms", log.timestamp_ms()},
                {"level", level},
                {"function", log.function()},
                {"version", log.version()},
                {"request_id", log.request_id()},
                {"cold", log.cold()},
                {"message", log.message()}});
      continue;
    }
    std::string prefix = absl::StrFormat("%s  %-5s  ", FormatTime(log.timestamp_ms(), true), level);
    if (options.name.empty()) absl::StrAppend(&prefix, log.function(), "@", log.version(), "  ");
    absl::StrAppend(&prefix, log.request_id().empty() ? "-" : log.request_id(), "  ",
                    log.cold() ? "cold" : "warm", "  ");
    // Continuation lines of a multi-line message (stacks) line up under it.
    std::vector<absl::string_view> lines = absl::StrSplit(log.message(), '\n');
    std::string text = absl::StrCat(prefix, lines[0]);
    for (size_t i = 1; i < lines.size(); ++i) {
      absl::StrAppend(&text, "\n", std::string(prefix.size(), ' '), lines[i]);
    }
    out.Line(text);
  }
  active = nullptr;
  if (options.follow && !watcher.signalled()) {
    out.Note(
        "kiln: the log stream ended (the platform stopped or restarted); run `kiln logs` again");
  }
  if (count == 0 && !options.follow) {
    out.Note(options.name.empty() ? "No log entries yet."
                                  : absl::StrCat("No log entries for ", options.name,
                                                 " yet — invoke it (`kiln invoke ", options.name,
                                                 "`) and look again."));
  }
  return kExitOk;
}

}  // namespace kiln::sdk::cli
