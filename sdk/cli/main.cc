// kiln: the command-line interface to a Kiln platform. Parses the command line
// (CLI11) and hands each subcommand to its Run* function (commands.h,
// platform.h); wiring only.
//
// CLI11 reports parse errors by throwing; they are caught right at the parse
// call and become exit code 2. No other code here throws or catches.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "sdk/cli/commands.h"
#include "sdk/cli/output.h"
#include "sdk/cli/platform.h"
#include "sdk/cli/secrets.h"
#include "sdk/client/endpoint.h"

namespace {

using namespace kiln::sdk::cli;  // NOLINT: wiring file

constexpr char kFooter[] = R"(Exit codes:
  0  ok
  1  the operation failed (bad function or kiln.toml, build error, non-2xx response,
     unknown function, ...)
  2  usage error (bad command line)
  3  cannot reach the Kiln API (is `kiln up` running? --api / KILN_API)
  4  authentication failed (the API refused the token; --token / KILN_TOKEN)

Where kiln finds the platform:
  API address  --api, else $KILN_API, else <data-dir>/api.addr (written by `kiln up`),
               else 127.0.0.1:7000
  token        --token, else $KILN_TOKEN, else <data-dir>/default.token (written by
               `kiln up` on first start)
  data dir     --data-dir, else $KILN_DATA_DIR, else ./.kiln

Global options (--api, --token, --data-dir, --json, --timeout) go before or after the
command. Run `kiln COMMAND --help` for a command's options. Reference: sdk/README.md.
)";

void AddPlatformOptions(CLI::App* command, PlatformOptions& options) {
  command->add_option("--http", options.http, "where the HTTP gateway listens, HOST:PORT")
      ->capture_default_str();
  command
      ->add_option("--workers", options.workers,
                   "worker processes to run (default: one per two cores, at least one)")
      ->check(CLI::Range(1, 256));
  command
      ->add_option("--base-domain", options.base_domain,
                   "functions answer at http://NAME.TENANT.BASE-DOMAIN:PORT/")
      ->capture_default_str();
  command->add_option("--scheduler-binary", options.scheduler_binary,
                      "the kiln-scheduler to run (default: $KILN_SCHEDULER_BINARY, next to kiln, "
                      "or on PATH)");
}

// The first argument after argv[start - 1] that is neither an option nor a
// global option's value.
std::optional<std::string> FirstWord(int argc, char** argv, int start = 1) {
  for (int i = start; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--api" || arg == "--token" || arg == "--data-dir" || arg == "--timeout") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] != '-') return arg;
  }
  return std::nullopt;
}

// The word after the first `command` word, if any ("kiln secrets sett X" -> "sett").
std::optional<std::string> WordAfter(int argc, char** argv, const std::string& command) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == command) return FirstWord(argc, argv, i + 1);
  }
  return std::nullopt;
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln: deploy, run and manage JavaScript functions on a Kiln platform", "kiln"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand

  GlobalOptions global;
  global.data_dir = std::string(kiln::sdk::kDefaultDataDir);
  app.add_option("--api", global.api,
                 "Kiln API address, HOST:PORT (default: $KILN_API, <data-dir>/api.addr, "
                 "127.0.0.1:7000); for `up`/`dev`: where to listen");
  app.add_option("--token", global.token,
                 "tenant API token (default: $KILN_TOKEN, <data-dir>/default.token)");
  app.add_option("--data-dir", global.data_dir,
                 "the platform's data dir: where `up` keeps its state and the API address and "
                 "token are read from")
      ->envname("KILN_DATA_DIR")
      ->capture_default_str();
  app.add_flag("--json", global.json, "machine-readable output: one JSON value per line on stdout");
  app.add_option("--timeout", global.timeout_s, "seconds to wait for each API call")
      ->check(CLI::PositiveNumber);

  PlatformOptions platform;
  CLI::App* up = app.add_subcommand(
      "up", "Run the platform (kiln-scheduler and its workers) in the foreground; Ctrl-C stops it");
  AddPlatformOptions(up, platform);

  DeployOptions deploy;
  CLI::App* deploy_cmd = app.add_subcommand(
      "deploy", "Deploy a function: a .js/.mjs file, or a folder with kiln.toml");
  deploy_cmd->add_option("path", deploy.path, "file or folder")->required();
  deploy_cmd->add_option("--name", deploy.name,
                         "function name (default: kiln.toml's name, the "
                         "folder's or the file's name)");

  InvokeOptions invoke;
  CLI::App* invoke_cmd = app.add_subcommand(
      "invoke", "Send an HTTP request to a function and print the response; exit 0 only for 2xx");
  invoke_cmd->add_option("name", invoke.name, "function name")->required();
  invoke_cmd->add_option("--method,-X", invoke.method,
                         "HTTP method (default: GET, POST with --data)");
  invoke_cmd->add_option("--path,-p", invoke.path, "path and query, e.g. /items?limit=5")
      ->capture_default_str();
  invoke_cmd->add_option("--header,-H", invoke.headers, "request header NAME:VALUE (repeatable)")
      ->allow_extra_args(false);
  CLI::Option* data = invoke_cmd->add_option(
      "--data,-d", invoke.data, "request body: text, @FILE, or @- for stdin (the last one counts)");
  data->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  CLI::App* list = app.add_subcommand("list", "List the tenant's functions");

  std::string versions_name;
  CLI::App* versions = app.add_subcommand("versions", "List a function's versions");
  versions->add_option("name", versions_name, "function name")->required();

  std::string rollback_name;
  uint64_t rollback_to = 0;
  CLI::App* rollback =
      app.add_subcommand("rollback", "Make an earlier version of a function active again");
  rollback->add_option("name", rollback_name, "function name")->required();
  rollback
      ->add_option("--to", rollback_to,
                   "version to activate (default: the one before the active one)")
      ->check(CLI::PositiveNumber);

  std::string delete_name;
  bool delete_yes = false;
  CLI::App* delete_cmd = app.add_subcommand("delete", "Delete a function and all its versions");
  delete_cmd->add_option("name", delete_name, "function name")->required();
  delete_cmd->add_flag("--yes,-y", delete_yes, "do not ask for confirmation");

  LogsOptions logs;
  CLI::App* logs_cmd = app.add_subcommand(
      "logs", "Print a function's log entries: time, level, request id, cold/warm, message");
  logs_cmd->add_option("name", logs.name, "function name (default: every function)");
  logs_cmd->add_flag("--follow,-f", logs.follow, "keep printing new entries until Ctrl-C");
  logs_cmd->add_option("--backlog,-n", logs.backlog, "recent entries to print first")
      ->capture_default_str();

  CLI::App* secrets = app.add_subcommand(
      "secrets",
      "Manage the tenant's secrets: values functions read from env (see `secrets` in "
      "kiln.toml)");
  secrets->require_subcommand(1);
  SecretSetOptions secret_set;
  CLI::App* secret_set_cmd = secrets->add_subcommand(
      "set",
      "Create or change a secret; the value comes from --value, else stdin (typed hidden on a "
      "terminal; one trailing newline dropped from a pipe). Functions that use it get a new "
      "version at once");
  secret_set_cmd->add_option("name", secret_set.name, "secret name (env.NAME)")->required();
  CLI::Option* secret_value = secret_set_cmd->add_option(
      "--value", secret_set.value,
      "the value (visible to other users of this machine in the process list: prefer stdin)");
  CLI::App* secret_list_cmd =
      secrets->add_subcommand("list", "List the secrets' names (never values) and who uses them");
  std::string secret_delete_name;
  bool secret_delete_yes = false;
  CLI::App* secret_delete_cmd = secrets->add_subcommand(
      "delete", "Delete a secret (refused while a function's active version uses it)");
  secret_delete_cmd->add_option("name", secret_delete_name, "secret name")->required();
  secret_delete_cmd->add_flag("--yes,-y", secret_delete_yes, "do not ask for confirmation");

  DeployOptions dev_deploy;
  CLI::App* dev = app.add_subcommand(
      "dev", "Run the platform in the background, deploy PATH, and redeploy it on every change");
  dev->add_option("path", dev_deploy.path, "file or folder")->required();
  dev->add_option("--name", dev_deploy.name, "function name");
  AddPlatformOptions(dev, platform);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    Output out(WantsJson(argc, argv));
    Failure failure;
    failure.exit_code = kExitUsage;
    failure.code = "USAGE";
    failure.message = error.what();
    std::string command;
    for (CLI::App* sub : app.get_subcommands()) {
      command = absl::StrCat(" ", sub->get_name());
      for (CLI::App* inner : sub->get_subcommands())
        absl::StrAppend(&command, " ", inner->get_name());
    }
    failure.hint = absl::StrCat("see `kiln", command, " --help`");
    if (command == " secrets" && secrets->get_subcommands().empty()) {
      std::optional<std::string> word = WordAfter(argc, argv, "secrets");
      failure.message = word.has_value() ? absl::StrCat("unknown command \"secrets ", *word, "\"")
                                         : "no secrets command given";
      failure.hint = "the secrets commands are set, list, delete; see `kiln secrets --help`";
    }
    if (command.empty()) {
      // CLI11 says "A subcommand is required" for a misspelt one too; name it.
      std::optional<std::string> word = FirstWord(argc, argv);
      failure.message =
          word.has_value() ? absl::StrCat("unknown command \"", *word, "\"") : "no command given";
      failure.hint =
          "the commands are up, deploy, invoke, list, versions, rollback, delete, "
          "logs, secrets, dev; see `kiln --help`";
    }
    return out.Fail(failure);
  }
  invoke.has_data = data->count() > 0;
  secret_set.has_value = secret_value->count() > 0;

  if (up->parsed()) return RunUp(global, platform);
  if (deploy_cmd->parsed()) return RunDeploy(global, deploy);
  if (invoke_cmd->parsed()) return RunInvoke(global, invoke);
  if (list->parsed()) return RunList(global);
  if (versions->parsed()) return RunVersions(global, versions_name);
  if (rollback->parsed()) return RunRollback(global, rollback_name, rollback_to);
  if (delete_cmd->parsed()) return RunDelete(global, delete_name, delete_yes);
  if (logs_cmd->parsed()) return RunLogs(global, logs);
  if (secret_set_cmd->parsed()) return RunSecretsSet(global, secret_set);
  if (secret_list_cmd->parsed()) return RunSecretsList(global);
  if (secret_delete_cmd->parsed()) {
    return RunSecretsDelete(global, secret_delete_name, secret_delete_yes);
  }
  if (dev->parsed()) return RunDev(global, platform, dev_deploy);
  return kExitUsage;
}
