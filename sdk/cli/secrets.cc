// `kiln secrets` subcommands (secrets.h).
#include "sdk/cli/secrets.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk::cli {
namespace {

Failure Usage(std::string message, std::string hint) {
  Failure failure;
  failure.exit_code = kExitUsage;
  failure.code = "USAGE";
  failure.message = std::move(message);
  failure.hint = std::move(hint);
  return failure;
}

// One line from the terminal on stdin, not echoed.
std::string ReadHiddenLine() {
  termios saved;
  const bool is_terminal = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (is_terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);  // keeps what was typed ahead
  }
  std::string line;
  std::getline(std::cin, line);
  if (is_terminal) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

absl::StatusOr<std::string> ReadSecretValue(const SecretSetOptions& options, const Output& out) {
  if (options.has_value) return options.value;
  if (isatty(STDIN_FILENO)) {
    if (!out.json()) {
      std::fprintf(stderr,
                   "Value of secret %s (typing is hidden; Enter ends it): ", options.name.c_str());
      std::fflush(stderr);
    }
    std::string line = ReadHiddenLine();
    if (!out.json()) std::fputc('\n', stderr);
    return line;
  }
  // Read at most a little more than a secret may hold, so `kiln secrets set
  // X < /dev/zero` ends.
  const size_t cap = kMaxSecretValueBytes + 3;
  std::string value;
  char buffer[1024];
  while (value.size() <= cap) {
    ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    value.append(buffer, static_cast<size_t>(n));
  }
  if (absl::EndsWith(value, "\r\n")) {
    value.resize(value.size() - 2);
  } else if (absl::EndsWith(value, "\n")) {
    value.pop_back();
  }
  if (value.size() > kMaxSecretValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the value on stdin is longer than ", kMaxSecretValueBytes, " bytes (5 KiB), the limit"));
  }
  return value;
}

int RunSecretsSet(const GlobalOptions& global, const SecretSetOptions& options) {
  Output out(global.json);
  // The name is checked before anyone is asked to type a value.
  if (absl::Status name = CheckSecretName(options.name); !name.ok()) {
    return out.Fail(Usage(std::string(name.message()),
                          "a secret becomes env.NAME: use letters, digits and '_', e.g. API_KEY"));
  }
  absl::StatusOr<std::string> value = ReadSecretValue(options, out);
  if (!value.ok()) {
    return out.Fail(Usage(std::string(value.status().message()), "a secret holds at most 5 KiB"));
  }
  if (absl::Status valid = CheckSecret(options.name, *value); !valid.ok()) {
    std::string hint = "a secret is 1 byte to 5 KiB of UTF-8 text";
    if (value->empty()) {
      hint = absl::StrCat("pipe the value in (printf %s \"$VALUE\" | kiln secrets set ",
                          options.name, "), type it at the prompt, or pass --value");
    }
    return out.Fail(Usage(std::string(valid.message()), hint));
  }
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  absl::StatusOr<kiln::v1::SetSecretResponse> set =
      session->client->SetSecret(options.name, *value);
  if (!set.ok()) {
    Failure failure = DescribeStatus(set.status(), session->context);
    if (failure.exit_code == kExitFailed) {
      failure.message =
          absl::StrCat("cannot set secret ", options.name, ": ", set.status().message());
    }
    return out.Fail(failure);
  }
  const std::string& tenant = session->client->tenant();
  if (out.json()) {
    nlohmann::json redeployed = nlohmann::json::array();
    for (const kiln::v1::FunctionInfo& function : set->redeployed()) {
      redeployed.push_back({{"name", function.name()},
                            {"version", function.active_version()},
                            {"url", function.url()}});
    }
    out.Json({{"name", options.name},
              {"tenant", tenant},
              {"created", set->created()},
              {"unchanged", set->unchanged()},
              {"redeployed", redeployed}});
    return kExitOk;
  }
  if (set->unchanged()) {
    out.Line(absl::StrCat("Secret ", options.name, " in tenant \"", tenant,
                          "\" already has this value; nothing changed."));
    return kExitOk;
  }
  out.Line(absl::StrCat(set->created() ? "Created" : "Updated", " secret ", options.name,
                        " in tenant \"", tenant, "\"."));
  if (set->redeployed().empty()) {
    out.Note(absl::StrCat("Functions read it as env.", options.name, " once their kiln.toml has ",
                          "secrets = [\"", options.name, "\"]."));
    return kExitOk;
  }
  out.Line("New versions of the functions that use it (their requests see the new value now):");
  for (const kiln::v1::FunctionInfo& function : set->redeployed()) {
    out.Line(absl::StrCat("  ", function.name(), " version ", function.active_version()));
  }
  return kExitOk;
}

int RunSecretsList(const GlobalOptions& global) {
  Output out(global.json);
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  absl::StatusOr<std::vector<kiln::v1::SecretInfo>> secrets = session->client->ListSecrets();
  if (!secrets.ok()) return out.Fail(DescribeStatus(secrets.status(), session->context));
  const std::string& tenant = session->client->tenant();
  if (out.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const kiln::v1::SecretInfo& secret : *secrets) {
      list.push_back({{"name", secret.name()},
                      {"bound_by", std::vector<std::string>(secret.bound_by().begin(),
                                                            secret.bound_by().end())}});
    }
    out.Json({{"tenant", tenant}, {"secrets", list}});
    return kExitOk;
  }
  if (secrets->empty()) {
    out.Note(absl::StrCat("No secrets in tenant \"", tenant,
                          "\" yet — add one with `kiln secrets set NAME`."));
    return kExitOk;
  }
  size_t width = 4;
  for (const kiln::v1::SecretInfo& secret : *secrets) width = std::max(width, secret.name().size());
  out.Line(absl::StrCat("NAME", std::string(width - 4 + 2, ' '), "USED BY"));
  for (const kiln::v1::SecretInfo& secret : *secrets) {
    const std::string users =
        secret.bound_by().empty() ? "-" : absl::StrJoin(secret.bound_by(), ", ");
    out.Line(
        absl::StrCat(secret.name(), std::string(width - secret.name().size() + 2, ' '), users));
  }
  return kExitOk;
}

int RunSecretsDelete(const GlobalOptions& global, const std::string& name, bool yes) {
  Output out(global.json);
  if (absl::Status valid = CheckSecretName(name); !valid.ok()) {
    return out.Fail(Usage(std::string(valid.message()), "see `kiln secrets list` for the names"));
  }
  if (!yes && isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "Delete secret %s? Functions cannot bind it afterwards. [y/N] ",
                 name.c_str());
    std::fflush(stderr);
    std::string answer;
    std::getline(std::cin, answer);
    answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
    if (answer != "y" && answer != "yes") {
      Failure failure;
      failure.code = "ABORTED";
      failure.message = absl::StrCat("secret ", name, " was not deleted");
      failure.hint = "answer y to delete, or pass --yes";
      return out.Fail(failure);
    }
  }
  Failure failure;
  absl::StatusOr<Session> session = OpenSession(global, &failure);
  if (!session.ok()) return out.Fail(failure);
  const std::string& tenant = session->client->tenant();
  absl::Status deleted = session->client->DeleteSecret(name);
  if (!deleted.ok()) {
    Failure failure = DescribeStatus(deleted, session->context);
    if (deleted.code() == absl::StatusCode::kNotFound) {
      failure.message = absl::StrCat("unknown secret \"", name, "\" in tenant \"", tenant, "\"");
      failure.hint = "see `kiln secrets list` for the secrets there are";
      failure.fields["detail"] = std::string(deleted.message());
    } else if (deleted.code() == absl::StatusCode::kFailedPrecondition) {
      failure.message = absl::StrCat("cannot delete secret ", name, ": ", deleted.message());
      failure.hint =
          "nothing changed; take it out of those functions' kiln.toml secrets, deploy them, "
          "then delete it";
    }
    return out.Fail(failure);
  }
  out.Json({{"deleted", name}, {"tenant", tenant}});
  out.Line(absl::StrCat("Deleted secret ", name, " from tenant \"", tenant, "\"."));
  return kExitOk;
}

}  // namespace kiln::sdk::cli
