// Client-side deploy and secret checks (precheck.h), mirroring
// scheduler/store/validate.cc.
#include "sdk/client/precheck.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace kiln::sdk {
namespace {

std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() > kMax) return absl::StrCat("\"", absl::CEscape(s.substr(0, kMax)), "...\"");
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, bytes == 1 ? " byte" : " bytes");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0));
}

std::string SuggestFunctionName(absl::string_view name) {
  std::string out;
  for (char c : name) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (IsLowerAlnum(lower)) {
      out.push_back(lower);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  if (out.size() > kMaxNameBytes) out.resize(kMaxNameBytes);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

absl::Status CheckFunctionName(absl::string_view name) {
  std::string suggestion = SuggestFunctionName(name);
  std::string hint =
      suggestion.empty() || suggestion == name ? "" : absl::StrCat(" (e.g. \"", suggestion, "\")");
  if (name.empty()) return absl::InvalidArgumentError("the function name is empty");
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("function name ", Quote(name),
                                                   " is longer than ", kMaxNameBytes,
                                                   " characters; choose a shorter one", hint));
  }
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("function name ", Quote(name),
                       " may hold only lowercase letters, digits and '-'; choose another", hint));
    }
  }
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) {
    return absl::InvalidArgumentError(
        absl::StrCat("function name ", Quote(name),
                     " must start and end with a lowercase letter or digit", hint));
  }
  return absl::OkStatus();
}

absl::Status CheckBundlePath(absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bundle file ", Quote(path), ": ", why));
  };
  if (path.empty()) return absl::InvalidArgumentError("bundle file with an empty path");
  if (path.size() > kMaxBundlePathBytes) {
    return bad(absl::StrCat("path is longer than ", kMaxBundlePathBytes,
                            " bytes; shorten the folder or file names"));
  }
  if (path.find('\0') != absl::string_view::npos) return bad("path contains a NUL byte");
  if (path.find('\\') != absl::string_view::npos) {
    return bad("path contains a backslash; rename the file");
  }
  if (path.front() == '/') return bad("path is absolute (leading '/'); use a relative path");
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty()) return bad("path has an empty segment");
    if (segment == "..") return bad("path has a '..' segment; files must be inside the folder");
    if (segment == ".") return bad("path has a '.' segment");
  }
  return absl::OkStatus();
}

absl::Status CheckBundle(const kiln::v1::Bundle& bundle) {
  if (bundle.files_size() == 0) return absl::InvalidArgumentError("the bundle has no files");
  if (bundle.files_size() > kMaxBundleFiles) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the bundle has ", bundle.files_size(), " files; the limit is ", kMaxBundleFiles,
        " — bundle your code (e.g. with esbuild) or list what to leave out in kiln.toml's "
        "`exclude`"));
  }
  absl::flat_hash_set<absl::string_view> paths;
  uint64_t total = 0;
  for (const kiln::v1::BundleFile& file : bundle.files()) {
    KILN_RETURN_IF_ERROR(CheckBundlePath(file.path()));
    if (!paths.insert(file.path()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle file ", Quote(file.path()), " appears more than once"));
    }
    total += file.content().size();
  }
  if (total > kMaxBundleBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the bundle holds ", HumanBytes(total),
                     "; the limit is 10 MiB — leave large assets out "
                     "(kiln.toml `exclude`) and serve them from elsewhere"));
  }
  if (bundle.main_module().empty()) {
    return absl::InvalidArgumentError("the bundle names no main module; set main in kiln.toml");
  }
  if (!paths.contains(bundle.main_module())) {
    return absl::InvalidArgumentError(absl::StrCat("main module ", Quote(bundle.main_module()),
                                                   " is not a file in the bundle; fix `main` in "
                                                   "kiln.toml (paths are relative to its folder)"));
  }
  return absl::OkStatus();
}

namespace {

// `what` ("env binding", "secret") named `name`: [A-Za-z_][A-Za-z0-9_]*, at
// most 63 bytes.
absl::Status CheckIdentifier(absl::string_view what, absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " with an empty name"));
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " name ", Quote(name), " is longer than ", kMaxNameBytes, " bytes"));
  }
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
  };
  bool ok = !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) ok = ok && word(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " name ", Quote(name),
                     " must be letters, digits and '_', not starting with a digit"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEnvName(absl::string_view name) { return CheckIdentifier("env binding", name); }

absl::Status CheckSecretName(absl::string_view name) { return CheckIdentifier("secret", name); }

absl::Status CheckSecret(absl::string_view name, absl::string_view value) {
  KILN_RETURN_IF_ERROR(CheckSecretName(name));
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " has an empty value"));
  }
  if (value.size() > kMaxSecretValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " is ", value.size(),
                                                   " bytes; the limit is ", kMaxSecretValueBytes,
                                                   " (5 KiB)"));
  }
  if (!IsUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat("secret ", Quote(name), " is not UTF-8 text"));
  }
  return absl::OkStatus();
}

absl::Status CheckFunctionConfig(const kiln::v1::FunctionConfig& config) {
  int bindings = config.vars_size() + config.secret_names_size();
  if (bindings > kMaxEnvBindings) {
    return absl::InvalidArgumentError(
        absl::StrCat("the function has ", bindings,
                     " env bindings (vars and secrets together); the limit is ", kMaxEnvBindings));
  }
  std::vector<absl::string_view> names;
  for (const auto& [name, value] : config.vars()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (absl::string_view name : names) {
    KILN_RETURN_IF_ERROR(CheckEnvName(name));
    const std::string& value = config.vars().at(std::string(name));
    if (value.size() > kMaxEnvValueBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("env var ", Quote(name), " is ", HumanBytes(value.size()),
                       "; the limit is 5 KiB — put large data in a bundle file instead"));
    }
  }
  absl::flat_hash_set<absl::string_view> secrets;
  for (const std::string& name : config.secret_names()) {
    KILN_RETURN_IF_ERROR(CheckEnvName(name));
    if (config.vars().contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "secret ", Quote(name), " has the same name as an env var; rename one of them"));
    }
    if (!secrets.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret ", Quote(name), " is listed more than once"));
    }
  }
  if (config.limits().cpu_ms() > kMaxCpuMs) {
    return absl::InvalidArgumentError(absl::StrCat("limits.cpu_ms is ", config.limits().cpu_ms(),
                                                   "; the most a function may ask for is ",
                                                   kMaxCpuMs));
  }
  return absl::OkStatus();
}

absl::Status CheckDeployRequest(const kiln::v1::DeployRequest& request) {
  KILN_RETURN_IF_ERROR(CheckFunctionName(request.name()));
  KILN_RETURN_IF_ERROR(CheckBundle(request.bundle()));
  return CheckFunctionConfig(request.config());
}

}  // namespace kiln::sdk
