// Turning a function on disk into the DeployRequest `kiln deploy` sends: a
// single .js/.mjs file, or a folder holding kiln.toml and its modules. The
// first step of the deploy flow, run on the user's machine; the checks here
// (precheck.h) repeat the scheduler's so mistakes are caught before upload.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kiln/v1/control.pb.h"

namespace kiln::sdk {

// The config file a function folder holds.
inline constexpr absl::string_view kConfigFileName = "kiln.toml";

// A file found under a function folder: its bundle path ("lib/util.js",
// '/'-separated, relative to the folder) and where it is on disk.
struct FunctionFile {
  std::string bundle_path;
  std::string disk_path;
};

// Walks `root` recursively, sorted by bundle path, and lists what a bundle
// holds: every regular file (symlinks to files followed) except dotfiles and
// dot-folders, `node_modules` folders, `root`/kiln.toml itself, and whatever
// matches one of `exclude` (fnmatch globs on the bundle path, where `*` also
// matches '/'; a pattern without '/' also matches a file or folder name at any
// depth). Symlinks to folders are not followed. InvalidArgument when `root` is
// not a readable folder, a path breaks CheckBundlePath, or there are more
// than 1,000 files.
absl::StatusOr<std::vector<FunctionFile>> ListFunctionFiles(
    const std::string& root, const std::vector<std::string>& exclude);

// A folder with kiln.toml: name from `name` (else the folder's name), main
// module from `main` (else index.js, else index.mjs), files per
// ListFunctionFiles with the manifest's `exclude`, config from the rest.
// InvalidArgument (message says what to change) when kiln.toml is missing or
// bad, a file is too large, or CheckDeployRequest fails. `tenant` is left empty.
absl::StatusOr<kiln::v1::DeployRequest> LoadFunctionDir(const std::string& dir);

// A single .js or .mjs file: a one-file bundle named after the file's stem
// ("api.mjs" -> "api"), default config. InvalidArgument for another extension,
// a file over 10 MiB, or a stem that is not a valid function name.
absl::StatusOr<kiln::v1::DeployRequest> LoadFile(const std::string& path);

// LoadFunctionDir or LoadFile, whichever `path` is; `name_override`, when not
// empty, replaces the name (and is checked). NotFound when nothing is at `path`.
absl::StatusOr<kiln::v1::DeployRequest> LoadFunction(const std::string& path,
                                                     absl::string_view name_override = "");

}  // namespace kiln::sdk
