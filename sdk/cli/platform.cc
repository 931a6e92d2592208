// `kiln up` and `kiln dev` (platform.h). Both block SIGINT/SIGTERM before any
// thread starts and take them synchronously with sigtimedwait, so a stop
// request is handled in the main loop, never inside a signal handler.
#include "sdk/cli/platform.h"

#include <google/protobuf/util/message_differencer.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "sdk/cli/scheduler_process.h"
#include "sdk/cli/watch.h"
#include "sdk/client/endpoint.h"
#include "sdk/client/function_loader.h"

namespace kiln::sdk::cli {
namespace {

namespace fs = std::filesystem;

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks SIGINT/SIGTERM for the whole process (call before starting threads).
void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// A pending stop signal, waiting up to `timeout`; 0 when none came.
int WaitForStopSignal(absl::Duration timeout) {
  sigset_t set = StopSignals();
  timespec wait = absl::ToTimespec(timeout);
  int signal = sigtimedwait(&set, nullptr, &wait);
  return signal > 0 ? signal : 0;
}

Failure UsageFailure(std::string message, std::string hint = "") {
  Failure failure;
  failure.exit_code = kExitUsage;
  failure.code = "USAGE";
  failure.message = std::move(message);
  failure.hint = std::move(hint);
  return failure;
}

// The scheduler command for `up` / `dev`, or a Failure.
std::optional<SchedulerCommand> PrepareCommand(const GlobalOptions& global,
                                               const PlatformOptions& options, Failure* failure) {
  SchedulerCommand command;
  command.data_dir = global.data_dir;
  command.http = options.http;
  command.workers = options.workers;
  command.base_domain = options.base_domain;
  command.api = global.api;
  if (command.api.empty()) {
    const char* env = std::getenv("KILN_API");
    command.api = env != nullptr && *env != '\0' ? env : std::string(kDefaultApi);
  }
  if (absl::Status valid = ValidateApiAddress(command.api); !valid.ok()) {
    *failure = UsageFailure(absl::StrCat("--api: ", valid.message()));
    return std::nullopt;
  }
  if (absl::Status valid = ValidateApiAddress(command.http); !valid.ok()) {
    *failure = UsageFailure(absl::StrCat("--http: ", valid.message()));
    return std::nullopt;
  }
  absl::StatusOr<std::string> binary = FindSchedulerBinary(options.scheduler_binary);
  if (!binary.ok()) {
    failure->code = "NO_SCHEDULER";
    failure->message = std::string(binary.status().message());
    return std::nullopt;
  }
  command.binary = *binary;
  std::error_code ec;
  fs::create_directories(command.data_dir, ec);
  if (ec) {
    failure->code = "DATA_DIR";
    failure->message =
        absl::StrCat("cannot create the data dir ", command.data_dir, ": ", ec.message());
    failure->hint = "choose another with --data-dir";
    return std::nullopt;
  }
  return command;
}

std::string HttpPort(const std::string& http) { return http.substr(http.rfind(':') + 1); }

// Where a started platform listens, once it is ready.
struct ReadyAddresses {
  std::string api;
  std::string http;
};

// The platform's addresses once the scheduler has announced both listeners
// (their real ports, also for port 0) and written <data-dir>/api.addr with
// the announced API address since `since` — which it does once its local
// workers registered, so a deploy or request right after can be served.
std::optional<ReadyAddresses> Ready(const SchedulerProcess& process,
                                    const SchedulerCommand& command, absl::Time since) {
  std::optional<std::string> api = process.listening();
  std::optional<std::string> http = process.http_listening();
  if (!api.has_value() || !http.has_value()) return std::nullopt;
  const std::string path = absl::StrCat(command.data_dir, "/", kApiAddrFile);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  // A file left by an earlier run (same address when the port is fixed) is
  // older. File times can be coarse (a kernel tick, or whole seconds on some
  // file systems): allow a second.
  if (absl::TimeFromTimespec(st.st_mtim) < since - absl::Seconds(1)) return std::nullopt;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (absl::StripAsciiWhitespace(line) != *api) return std::nullopt;
  return ReadyAddresses{.api = *api, .http = *http};
}

Failure ExitedEarly(int code, const SchedulerCommand& command) {
  Failure failure;
  failure.exit_code = code == 0 ? kExitFailed : code;
  failure.code = "SCHEDULER_EXITED";
  failure.message = absl::StrCat("kiln-scheduler exited with status ", code,
                                 " before it was ready; its messages above say why");
  failure.hint = absl::StrCat("is another `kiln up` using ", command.api, " or ", command.http,
                              "? Pick free ports with --api / --http");
  return failure;
}

// Waits for a stop after a signal was forwarded: a second signal kills.
int StopAndWait(SchedulerProcess& process, int first_signal, const Output& out) {
  process.Signal(first_signal);
  while (true) {
    if (std::optional<int> code = process.Poll()) return *code;
    if (WaitForStopSignal(absl::Milliseconds(100)) != 0) {
      out.Note("kiln: forcing kiln-scheduler to stop");
      process.Signal(SIGKILL);
    }
  }
}

}  // namespace

int RunUp(const GlobalOptions& global, const PlatformOptions& options) {
  Output out(global.json);
  Failure failure;
  std::optional<SchedulerCommand> command = PrepareCommand(global, options, &failure);
  if (!command.has_value()) return out.Fail(failure);
  BlockStopSignals();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<SchedulerProcess>> started =
      SchedulerProcess::Start(*command, [&out](const std::string& line) {
        if (out.json()) {
          out.Json({{"event", "scheduler"}, {"line", line}});
        } else {
          out.Line(line);
        }
      });
  if (!started.ok()) {
    failure.message =
        absl::StrCat("cannot start ", command->binary, ": ", started.status().message());
    return out.Fail(failure);
  }
  std::unique_ptr<SchedulerProcess> process = std::move(started).value();
  bool announced = false;
  int stops = 0;
  std::optional<int> code;
  while (!(code = process->Poll()).has_value()) {
    if (int signal = WaitForStopSignal(absl::Milliseconds(100)); signal != 0) {
      ++stops;
      if (stops == 1) {
        out.Note("kiln: stopping kiln-scheduler (draining; Ctrl-C again to force)");
        out.Json({{"event", "stopping"}});
        process->Signal(signal);
      } else {
        out.Note("kiln: forcing kiln-scheduler to stop");
        process->Signal(SIGKILL);
      }
    }
    std::optional<ReadyAddresses> ready;
    if (!announced && stops == 0 && (ready = Ready(*process, *command, start)).has_value()) {
      announced = true;
      const std::string token_file = absl::StrCat(command->data_dir, "/", kDefaultTokenFile);
      const std::string more = command->data_dir == kDefaultDataDir
                                   ? ""
                                   : absl::StrCat(" --data-dir ", command->data_dir);
      out.Json({{"event", "ready"},
                {"api", ready->api},
                {"http", ready->http},
                {"data_dir", command->data_dir},
                {"token_file", token_file}});
      out.Line(absl::StrCat("kiln: Kiln is up. API ", ready->api,
                            "; functions answer at http://NAME.", kDefaultTenant, ".",
                            command->base_domain, ":", HttpPort(ready->http), "/"));
      out.Line(absl::StrCat("kiln: the default tenant's token is in ", token_file,
                            ". In another terminal: kiln deploy examples/hello", more,
                            ". Ctrl-C stops Kiln."));
    }
  }
  process.reset();  // joins the output reader
  if (!announced && stops == 0 && *code != 0) {
    Failure early = ExitedEarly(*code, *command);
    return out.Fail(early);
  }
  out.Json({{"event", "exited"}, {"status", *code}});
  if (*code != 0) out.Note(absl::StrCat("kiln: kiln-scheduler exited with status ", *code));
  return *code;
}

int RunDev(const GlobalOptions& global, const PlatformOptions& options,
           const DeployOptions& deploy) {
  Output out(global.json);
  std::error_code ec;
  if (!fs::exists(deploy.path, ec)) {
    return out.Fail(UsageFailure(absl::StrCat("nothing at ", deploy.path),
                                 "give a .js/.mjs file or a folder with kiln.toml"));
  }
  Failure failure;
  std::optional<SchedulerCommand> command = PrepareCommand(global, options, &failure);
  if (!command.has_value()) return out.Fail(failure);
  BlockStopSignals();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<SchedulerProcess>> started =
      SchedulerProcess::Start(*command, [&out](const std::string& line) {
        if (out.json()) {
          out.Json({{"event", "scheduler"}, {"line", line}});
        } else {
          out.Note(absl::StrCat("[kiln-scheduler] ", line));
        }
      });
  if (!started.ok()) {
    failure.message =
        absl::StrCat("cannot start ", command->binary, ": ", started.status().message());
    return out.Fail(failure);
  }
  std::unique_ptr<SchedulerProcess> process = std::move(started).value();

  // 1. Wait until the platform is ready.
  const absl::Time ready_deadline = absl::Now() + absl::Minutes(1);
  std::optional<ReadyAddresses> ready;
  while (!(ready = Ready(*process, *command, start)).has_value()) {
    if (std::optional<int> code = process->Poll()) return out.Fail(ExitedEarly(*code, *command));
    if (int signal = WaitForStopSignal(absl::Milliseconds(100)); signal != 0) {
      return StopAndWait(*process, signal, out);
    }
    if (absl::Now() > ready_deadline) {
      failure.code = "SCHEDULER_NOT_READY";
      failure.message = "kiln-scheduler did not become ready within a minute";
      failure.hint = "its messages above may say why; try `kiln up` on its own";
      return out.Fail(failure);
    }
  }

  // 2. Connect with the token it keeps in the data dir (or the one given).
  EndpointInputs inputs;
  inputs.api_flag = ready->api;
  inputs.token_flag = global.token;
  inputs.data_dir = command->data_dir;
  absl::StatusOr<Endpoint> endpoint = ResolveEndpoint(inputs);
  for (int i = 0; i < 50 && endpoint.ok() && endpoint->token.empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));  // the token file may trail the announcement
    endpoint = ResolveEndpoint(inputs);
  }
  if (!endpoint.ok()) return out.Fail(UsageFailure(std::string(endpoint.status().message())));
  ClientOptions client_options;
  if (global.timeout_s > 0) {
    client_options.call_timeout = client_options.deploy_timeout =
        absl::Milliseconds(static_cast<int64_t>(global.timeout_s * 1000));
  }
  client_options.api = endpoint->api;
  client_options.token = endpoint->token;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(client_options);
  if (!client.ok()) return out.Fail(UsageFailure(std::string(client.status().message())));
  GlobalOptions session_global = global;
  session_global.data_dir = command->data_dir;
  Session session = SessionFor(std::move(client).value(), session_global, "kiln-scheduler",
                               endpoint->token_source);
  out.Json({{"event", "ready"}, {"api", ready->api}, {"http", ready->http}, {"path", deploy.path}});
  out.Note(absl::StrCat("kiln dev: Kiln is up (API ", ready->api, ", HTTP ", ready->http,
                        "). Deploying ", deploy.path,
                        ", then again on every change. Ctrl-C stops."));

  // 3. Deploy, then poll for changes.
  std::optional<kiln::v1::DeployRequest> deployed;
  auto deploy_round = [&] {
    const absl::Time start = absl::Now();
    absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunction(deploy.path, deploy.name);
    if (request.ok() && deployed.has_value() &&
        google::protobuf::util::MessageDifferencer::Equals(*request, *deployed)) {
      out.Note("kiln dev: the bundle is what is deployed already; nothing to do");
      out.Json({{"event", "unchanged"}});
      return;
    }
    if (DeployLoaded(session, deploy, request, out, /*as_event=*/true, start) == kExitOk) {
      deployed = *request;
    }
  };
  FileStamps stamps = StampFunction(deploy.path);
  deploy_round();
  int signal = 0;
  while ((signal = WaitForStopSignal(absl::Milliseconds(500))) == 0) {
    if (std::optional<int> code = process->Poll()) {
      failure.exit_code = *code == 0 ? kExitFailed : *code;
      failure.code = "SCHEDULER_EXITED";
      failure.message = absl::StrCat("kiln-scheduler exited unexpectedly with status ", *code);
      failure.hint = "its messages above say why; run `kiln dev` again";
      return out.Fail(failure);
    }
    FileStamps now = StampFunction(deploy.path);
    if (now == stamps) continue;
    std::vector<std::string> changed = ChangedFiles(stamps, now);
    stamps = std::move(now);
    out.Json({{"event", "changed"}, {"files", changed}});
    const size_t shown = std::min<size_t>(changed.size(), 5);
    out.Note(absl::StrCat(
        "kiln dev: changed: ",
        absl::StrJoin(std::vector<std::string>(changed.begin(), changed.begin() + shown), ", "),
        changed.size() > shown ? absl::StrCat(" and ", changed.size() - shown, " more") : "", ""));
    deploy_round();
  }

  // 4. Stop the platform.
  out.Note("kiln dev: stopping Kiln");
  session.client.reset();
  int code = StopAndWait(*process, signal, out);
  process.reset();
  out.Json({{"event", "stopped"}, {"status", code}});
  return code;
}

}  // namespace kiln::sdk::cli
