// The deploy-time input rules of validate.h.
#include "scheduler/store/validate.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace kiln::scheduler {
namespace {

// `s` quoted and escaped for an error message, cut at 80 bytes.
std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() > kMax) return absl::StrCat("\"", absl::CEscape(s.substr(0, kMax)), "...\"");
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status ValidateDnsName(absl::string_view what, absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " name is empty"));
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, " name ", Quote(name), " is longer than ",
                                                   kMaxNameBytes, " characters"));
  }
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " name ", Quote(name), " may hold only lowercase letters, digits and '-'"));
    }
  }
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " name ", Quote(name), " must start and end with a lowercase letter or digit"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTenantName(absl::string_view name) { return ValidateDnsName("tenant", name); }

absl::Status ValidateFunctionName(absl::string_view name) {
  return ValidateDnsName("function", name);
}

absl::Status ValidateBundlePath(absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bundle file ", Quote(path), ": ", why));
  };
  if (path.empty()) return absl::InvalidArgumentError("bundle file with an empty path");
  if (path.size() > kMaxBundlePathBytes) {
    return bad(absl::StrCat("path is longer than ", kMaxBundlePathBytes, " bytes"));
  }
  if (path.find('\0') != absl::string_view::npos) return bad("path contains a NUL byte");
  if (path.find('\\') != absl::string_view::npos) return bad("path contains a backslash");
  if (path.front() == '/') return bad("path is absolute (leading '/')");
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty()) return bad("path has an empty segment");
    if (segment == "..") return bad("path has a '..' segment");
    if (segment == ".") return bad("path has a '.' segment");
  }
  return absl::OkStatus();
}

absl::Status ValidateBundle(const kiln::v1::Bundle& bundle) {
  if (bundle.files_size() == 0) return absl::InvalidArgumentError("bundle has no files");
  if (bundle.files_size() > kMaxBundleFiles) {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle has ", bundle.files_size(), " files; the limit is ", kMaxBundleFiles));
  }
  absl::flat_hash_set<absl::string_view> paths;
  size_t total = 0;
  for (const kiln::v1::BundleFile& file : bundle.files()) {
    KILN_RETURN_IF_ERROR(ValidateBundlePath(file.path()));
    if (!paths.insert(file.path()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle file ", Quote(file.path()), " appears more than once"));
    }
    total += file.content().size();
  }
  if (total > kMaxBundleBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bundle files hold ", total, " bytes; the limit is ", kMaxBundleBytes, " (10 MiB)"));
  }
  if (bundle.main_module().empty()) {
    return absl::InvalidArgumentError("bundle names no main module");
  }
  if (!paths.contains(bundle.main_module())) {
    return absl::InvalidArgumentError(
        absl::StrCat("main module ", Quote(bundle.main_module()), " is not a file in the bundle"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnvName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("env binding with an empty name");
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("env binding name ", Quote(name),
                                                   " is longer than ", kMaxNameBytes, " bytes"));
  }
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
  };
  bool ok = !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) ok = ok && word(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("env binding name ", Quote(name),
                     " must be letters, digits and '_', not starting with a digit"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFunctionConfig(const kiln::v1::FunctionConfig& config) {
  int bindings = config.vars_size() + config.secret_names_size();
  if (bindings > kMaxEnvBindings) {
    return absl::InvalidArgumentError(
        absl::StrCat("function has ", bindings, " env bindings (vars and secrets); the limit is ",
                     kMaxEnvBindings));
  }
  // Map iteration order is unspecified; report the smallest offending name so
  // the message is the same on every run.
  std::vector<absl::string_view> names;
  for (const auto& [name, value] : config.vars()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (absl::string_view name : names) {
    KILN_RETURN_IF_ERROR(ValidateEnvName(name));
    const std::string& value = config.vars().at(std::string(name));
    if (value.size() > kMaxEnvValueBytes) {
      return absl::InvalidArgumentError(absl::StrCat("env var ", Quote(name), " is ", value.size(),
                                                     " bytes; the limit is ", kMaxEnvValueBytes,
                                                     " (5 KiB)"));
    }
  }
  absl::flat_hash_set<absl::string_view> secrets;
  for (const std::string& name : config.secret_names()) {
    KILN_RETURN_IF_ERROR(ValidateEnvName(name));
    if (config.vars().contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret ", Quote(name), " has the same name as an env var"));
    }
    if (!secrets.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret ", Quote(name), " is listed more than once"));
    }
  }
  return ValidateLimits(config.limits());
}

absl::Status ValidateLimits(const kiln::v1::Limits& limits) {
  if (limits.cpu_ms() > kMaxCpuMs) {
    return absl::InvalidArgumentError(absl::StrCat("limits.cpu_ms is ", limits.cpu_ms(),
                                                   "; the most a function may ask for is ", kMaxCpuMs));
  }
  if (limits.wall_ms() > kMaxWallMs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limits.wall_ms is ", limits.wall_ms(), "; the most a function may ask for is ", kMaxWallMs));
  }
  if (limits.wait_until_ms() > kMaxWallMs) {
    return absl::InvalidArgumentError(absl::StrCat("limits.wait_until_ms is ", limits.wait_until_ms(),
                                                   "; the most a function may ask for is ", kMaxWallMs));
  }
  if (limits.heap_bytes() != 0 &&
      (limits.heap_bytes() < kMinHeapBytes || limits.heap_bytes() > kMaxHeapBytes)) {
    return absl::InvalidArgumentError(absl::StrCat("limits.heap is ", limits.heap_bytes() >> 20,
                                                   " MiB; it must be 16 to 2048 MiB"));
  }
  if (limits.request_body_bytes() > kMaxRequestBodyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("limits.request_body is ", limits.request_body_bytes() >> 20,
                     " MiB; the gateway accepts request bodies of at most 32 MiB"));
  }
  if (limits.response_body_bytes() > kMaxResponseBodyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("limits.response_body is ", limits.response_body_bytes() >> 20,
                     " MiB; a buffered response may be at most 128 MiB (stream larger ones)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSecret(absl::string_view name, absl::string_view value) {
  KILN_RETURN_IF_ERROR(ValidateEnvName(name));
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " has an empty value"));
  }
  if (value.size() > kMaxSecretValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " is ", value.size(),
                                                   " bytes; the limit is ", kMaxSecretValueBytes,
                                                   " (5 KiB)"));
  }
  // Secrets reach functions as JavaScript strings (and the worker as proto
  // strings), so they must be text.
  if (!IsUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " is not UTF-8 text"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDeploy(absl::string_view tenant, absl::string_view function,
                            const kiln::v1::Bundle& bundle,
                            const kiln::v1::FunctionConfig& config) {
  KILN_RETURN_IF_ERROR(ValidateTenantName(tenant));
  KILN_RETURN_IF_ERROR(ValidateFunctionName(function));
  KILN_RETURN_IF_ERROR(ValidateBundle(bundle));
  return ValidateFunctionConfig(config);
}

}  // namespace kiln::scheduler
