// `kiln secrets set|list|delete`: the tenant's secrets through the Control API
// (Control.SetSecret / ListSecrets / DeleteSecret). Values go in and never come
// back out. Each Run* function prints through an Output and returns the exit
// code (output.h), as the other commands do.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "sdk/cli/commands.h"

namespace kiln::sdk::cli {

struct SecretSetOptions {
  std::string name;
  std::string value;  // --value
  bool has_value = false;
};

// The value to set: --value as given; else, when stdin is a terminal, one
// line typed without echo (after a prompt on stderr, in human mode); else all
// of stdin with one trailing "\n" or "\r\n" removed. InvalidArgument when
// stdin holds more than a secret may (5 KiB, plus the newline).
absl::StatusOr<std::string> ReadSecretValue(const SecretSetOptions& options, const Output& out);

// Sets the secret; reports whether it was created, updated or unchanged, and
// the functions that got a new version because they bind it.
int RunSecretsSet(const GlobalOptions& global, const SecretSetOptions& options);
// Names of the tenant's secrets and the functions that bind each.
int RunSecretsList(const GlobalOptions& global);
// Deletes a secret; asks first when stdin is a terminal and `yes` is not set.
// Exit 1 for an unknown secret or one a function still binds.
int RunSecretsDelete(const GlobalOptions& global, const std::string& name, bool yes);

}  // namespace kiln::sdk::cli
