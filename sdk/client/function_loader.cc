// Loading a function from disk into a DeployRequest (function_loader.h).
// std::filesystem is used only through its error_code overloads: no exceptions.
#include "sdk/client/function_loader.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "sdk/client/kiln_toml.h"
#include "sdk/client/precheck.h"

namespace kiln::sdk {
namespace {

namespace fs = std::filesystem;

bool Matches(const std::string& pattern, const std::string& bundle_path, const std::string& name) {
  if (fnmatch(pattern.c_str(), bundle_path.c_str(), 0) == 0) return true;
  return pattern.find('/') == std::string::npos && fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool Excluded(const std::vector<std::string>& exclude, const std::string& bundle_path,
              const std::string& name) {
  for (const std::string& pattern : exclude) {
    if (Matches(pattern, bundle_path, name)) return true;
  }
  return false;
}

absl::Status Walk(const fs::path& dir, const std::string& prefix,
                  const std::vector<std::string>& exclude, std::vector<FunctionFile>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the folder ", dir.string(), ": ", ec.message()));
  }
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    entries.push_back(*it);
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the folder ", dir.string(), ": ", ec.message()));
  }
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) {
              return a.path().filename() < b.path().filename();
            });
  for (const fs::directory_entry& entry : entries) {
    std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, ".")) continue;
    std::string bundle_path = prefix.empty() ? name : absl::StrCat(prefix, "/", name);
    if (prefix.empty() && name == kConfigFileName) continue;
    if (Excluded(exclude, bundle_path, name)) continue;
    bool is_symlink = entry.is_symlink(ec);
    if (entry.is_directory(ec)) {
      if (is_symlink || name == "node_modules") continue;
      KILN_RETURN_IF_ERROR(Walk(entry.path(), bundle_path, exclude, out));
    } else if (entry.is_regular_file(ec)) {
      KILN_RETURN_IF_ERROR(CheckBundlePath(bundle_path));
      out.push_back(FunctionFile{bundle_path, entry.path().string()});
      if (static_cast<int>(out.size()) > kMaxBundleFiles) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the folder holds more than ", kMaxBundleFiles,
            " files to deploy (the limit) — bundle your code (e.g. with esbuild) or leave files "
            "out with kiln.toml's `exclude`"));
      }
    }
  }
  return absl::OkStatus();
}

// Reads `disk_path` whole, refusing files that alone break the bundle limit.
absl::StatusOr<std::string> ReadFile(const std::string& disk_path, const std::string& shown) {
  std::error_code ec;
  uintmax_t size = fs::file_size(disk_path, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", shown, ": ", ec.message()));
  }
  if (size > kMaxBundleBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, " is ", HumanBytes(size),
                     "; a whole bundle may hold at most 10 MiB — leave it out (kiln.toml "
                     "`exclude`) and serve it from elsewhere"));
  }
  std::ifstream in(disk_path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot open ", shown));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", shown));
  return content;
}

}  // namespace

absl::StatusOr<std::vector<FunctionFile>> ListFunctionFiles(
    const std::string& root, const std::vector<std::string>& exclude) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(root, " is not a folder"));
  }
  std::vector<FunctionFile> files;
  KILN_RETURN_IF_ERROR(Walk(fs::path(root), "", exclude, files));
  return files;
}

namespace {

// LoadFunctionDir, with `name_override` (when not empty) in place of the name.
absl::StatusOr<kiln::v1::DeployRequest> LoadDir(const std::string& dir,
                                                absl::string_view name_override) {
  std::error_code ec;
  const fs::path config_path = fs::path(dir) / std::string(kConfigFileName);
  const std::string shown_config = config_path.lexically_normal().string();
  if (!fs::exists(config_path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no kiln.toml in ", dir,
        " — add one (at least: name = \"my-function\" and main = \"index.js\"), or deploy a "
        "single file: kiln deploy ",
        (fs::path(dir) / "index.js").lexically_normal().string()));
  }
  KILN_ASSIGN_OR_RETURN(std::string text, ReadFile(config_path.string(), shown_config));
  KILN_ASSIGN_OR_RETURN(FunctionManifest manifest, ParseKilnToml(text, shown_config));

  kiln::v1::DeployRequest request;
  if (!name_override.empty()) {
    request.set_name(std::string(name_override));
    if (absl::Status valid = CheckFunctionName(name_override); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(valid.message(), "; fix --name"));
    }
  } else if (!manifest.name.empty()) {
    request.set_name(manifest.name);
    if (absl::Status valid = CheckFunctionName(manifest.name); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(shown_config, ": ", valid.message(), "; fix `name`"));
    }
  } else {
    fs::path absolute = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    std::string folder = absolute.filename().string();
    if (folder.empty()) folder = absolute.parent_path().filename().string();
    request.set_name(folder);
    if (absl::Status valid = CheckFunctionName(folder); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          valid.message(),
          " (kiln.toml has no `name`, so the folder's name was used); add name = \"",
          SuggestFunctionName(folder).empty() ? "my-function" : SuggestFunctionName(folder),
          "\" to ", shown_config));
    }
  }
  *request.mutable_config() = std::move(manifest.config);

  KILN_ASSIGN_OR_RETURN(std::vector<FunctionFile> files, ListFunctionFiles(dir, manifest.exclude));
  kiln::v1::Bundle* bundle = request.mutable_bundle();
  uint64_t total = 0;
  for (const FunctionFile& file : files) {
    std::string shown = (fs::path(dir) / file.bundle_path).lexically_normal().string();
    KILN_ASSIGN_OR_RETURN(std::string content, ReadFile(file.disk_path, shown));
    total += content.size();
    if (total > kMaxBundleBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("the files in ", dir,
                       " hold more than 10 MiB (the bundle limit) — leave large "
                       "assets out with kiln.toml's `exclude` and serve them from elsewhere"));
    }
    kiln::v1::BundleFile* out = bundle->add_files();
    out->set_path(file.bundle_path);
    out->set_content(std::move(content));
  }

  auto has = [&](const std::string& path) {
    return std::any_of(files.begin(), files.end(),
                       [&](const FunctionFile& f) { return f.bundle_path == path; });
  };
  if (manifest.main.empty()) {
    if (has("index.js")) {
      bundle->set_main_module("index.js");
    } else if (has("index.mjs")) {
      bundle->set_main_module("index.mjs");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          shown_config, " names no main module and ", dir,
          " has no index.js or index.mjs — add main = \"path/to/entry.js\" to kiln.toml"));
    }
  } else {
    bundle->set_main_module(manifest.main);
    if (!has(manifest.main)) {
      const bool on_disk = fs::is_regular_file(fs::path(dir) / manifest.main, ec);
      return absl::InvalidArgumentError(absl::StrCat(
          shown_config, ": main module \"", manifest.main, "\" ",
          on_disk ? "is left out of the bundle (a dotfile, under node_modules, or matched by "
                    "`exclude`) — move it or change `exclude`"
                  : absl::StrCat("is not a file in ", dir,
                                 " — fix `main` (a path relative to kiln.toml's folder)")));
    }
  }
  KILN_RETURN_IF_ERROR(CheckDeployRequest(request));
  return request;
}

// LoadFile, with `name_override` (when not empty) in place of the stem.
absl::StatusOr<kiln::v1::DeployRequest> LoadSingleFile(const std::string& path,
                                                       absl::string_view name_override) {
  fs::path file(path);
  std::string extension = file.extension().string();
  if (extension != ".js" && extension != ".mjs") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a .js or .mjs file — deploy an ES module file, or a folder with kiln.toml"));
  }
  KILN_ASSIGN_OR_RETURN(std::string content, ReadFile(path, path));
  kiln::v1::DeployRequest request;
  std::string stem = file.stem().string();
  if (!name_override.empty()) {
    request.set_name(std::string(name_override));
    if (absl::Status valid = CheckFunctionName(name_override); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(valid.message(), "; fix --name"));
    }
  } else if (absl::Status valid = CheckFunctionName(stem); !valid.ok()) {
    std::string suggestion = SuggestFunctionName(stem);
    return absl::InvalidArgumentError(absl::StrCat(
        valid.message(), " (a single file's function is named after it) — pass --name ",
        suggestion.empty() ? "my-function" : suggestion));
  } else {
    request.set_name(stem);
  }
  std::string bundle_path = file.filename().string();
  kiln::v1::Bundle* bundle = request.mutable_bundle();
  kiln::v1::BundleFile* out = bundle->add_files();
  out->set_path(bundle_path);
  out->set_content(std::move(content));
  bundle->set_main_module(bundle_path);
  KILN_RETURN_IF_ERROR(CheckDeployRequest(request));
  return request;
}

}  // namespace

absl::StatusOr<kiln::v1::DeployRequest> LoadFunctionDir(const std::string& dir) {
  return LoadDir(dir, "");
}

absl::StatusOr<kiln::v1::DeployRequest> LoadFile(const std::string& path) {
  return LoadSingleFile(path, "");
}

absl::StatusOr<kiln::v1::DeployRequest> LoadFunction(const std::string& path,
                                                     absl::string_view name_override) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(
        absl::StrCat("nothing at ", path, " — give a .js/.mjs file or a folder with kiln.toml"));
  }
  if (fs::is_directory(status)) return LoadDir(path, name_override);
  return LoadSingleFile(path, name_override);
}

}  // namespace kiln::sdk
