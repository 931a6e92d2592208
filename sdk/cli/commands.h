// The `kiln` subcommands that talk to a running platform through the Control
// API: deploy, invoke, list, versions, rollback, delete, logs. Each Run*
// function prints through an Output and returns the process exit code
// (output.h). `up` and `dev` are in platform.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kiln/v1/control.pb.h"
#include "sdk/cli/output.h"
#include "sdk/client/client.h"

namespace kiln::sdk::cli {

// Options every command takes.
struct GlobalOptions {
  std::string api;       // --api; "" : KILN_API, <data_dir>/api.addr, default
  std::string token;     // --token; "" : KILN_TOKEN, <data_dir>/default.token
  std::string data_dir;  // --data-dir / KILN_DATA_DIR
  bool json = false;     // --json
  double timeout_s = 0;  // --timeout; 0 keeps the client's defaults
};

// A connected client and what error messages need to know about it.
struct Session {
  std::unique_ptr<Client> client;
  CallContext context;
};

// Resolves the API address and token (endpoint.h) and connects. A Failure
// (usage, exit 2) for a malformed address.
absl::StatusOr<Session> OpenSession(const GlobalOptions& global, Failure* failure);
// The same, for an address and token already known (kiln dev).
Session SessionFor(std::unique_ptr<Client> client, const GlobalOptions& global,
                   const std::string& api_source, const std::string& token_source);

struct DeployOptions {
  std::string path;
  std::string name;  // --name
};

struct InvokeOptions {
  std::string name;
  std::string method;  // "" : GET, or POST with --data
  std::string path = "/";
  std::vector<std::string> headers;  // "K:V"
  std::string data;                  // "@file", "@-" (stdin) or the body itself
  bool has_data = false;
};

struct LogsOptions {
  std::string name;  // "" : every function of the tenant
  bool follow = false;
  uint32_t backlog = 100;
};

// Loads PATH, deploys it, prints version, URL and time taken. On a build error
// prints the server's file:line:col: message and the source line with a caret.
int RunDeploy(const GlobalOptions& global, const DeployOptions& options);
// Deploys `request` (the result of LoadFunction(options.path, options.name))
// through `session` and reports as RunDeploy does; a failed load is reported
// too. With `as_event` the JSON gets "event": "deployed" / "deploy_failed"
// (kiln dev). The time taken is counted from `start`.
int DeployLoaded(Session& session, const DeployOptions& options,
                 const absl::StatusOr<kiln::v1::DeployRequest>& request, const Output& out,
                 bool as_event, absl::Time start);

// Exit 0 for a 2xx response, 1 for any other status or a failed invocation.
int RunInvoke(const GlobalOptions& global, const InvokeOptions& options);
int RunList(const GlobalOptions& global);
int RunVersions(const GlobalOptions& global, const std::string& name);
int RunRollback(const GlobalOptions& global, const std::string& name, uint64_t to_version);
// Asks for confirmation unless `yes` or stdin is not a terminal.
int RunDelete(const GlobalOptions& global, const std::string& name, bool yes);
// Ctrl-C ends a --follow cleanly (exit 0).
int RunLogs(const GlobalOptions& global, const LogsOptions& options);

}  // namespace kiln::sdk::cli
