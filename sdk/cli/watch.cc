// Polling change detection for `kiln dev` (watch.h).
#include "sdk/cli/watch.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"

namespace kiln::sdk::cli {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFiles = 20000;

bool Stamp(const fs::path& path, std::pair<int64_t, uint64_t>* out) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return false;
  *out = {static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec,
          static_cast<uint64_t>(info.st_size)};
  return true;
}

}  // namespace

FileStamps StampFunction(const std::string& path) {
  FileStamps stamps;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    std::pair<int64_t, uint64_t> stamp;
    if (Stamp(path, &stamp)) stamps[path] = stamp;
    return stamps;
  }
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, ".") || name == "node_modules") {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::pair<int64_t, uint64_t> stamp;
    if (Stamp(it->path(), &stamp)) {
      stamps[it->path().lexically_relative(path).string()] = stamp;
    }
    if (stamps.size() >= kMaxFiles) break;
  }
  return stamps;
}

std::vector<std::string> ChangedFiles(const FileStamps& before, const FileStamps& after) {
  std::vector<std::string> changed;
  for (const auto& [path, stamp] : after) {
    auto it = before.find(path);
    if (it == before.end() || it->second != stamp) changed.push_back(path);
  }
  for (const auto& [path, stamp] : before) {
    if (!after.contains(path)) changed.push_back(path);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace kiln::sdk::cli
