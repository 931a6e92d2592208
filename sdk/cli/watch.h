// Change detection for `kiln dev`: a cheap stamp (mtime and size) of every
// file a function's bundle could hold, compared between polls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kiln::sdk::cli {

// Path (relative to the function folder, or the file itself) -> (mtime in
// nanoseconds, size). Dotfiles, dot-folders and node_modules are skipped, as
// the bundle skips them; kiln.toml is included.
using FileStamps = std::map<std::string, std::pair<int64_t, uint64_t>>;

// Stamps a single file, or every file under a folder (at most 20,000).
// Missing or unreadable paths give an empty map.
FileStamps StampFunction(const std::string& path);

// Paths added, removed or modified between two stamps, sorted.
std::vector<std::string> ChangedFiles(const FileStamps& before, const FileStamps& after);

}  // namespace kiln::sdk::cli
