// Build error locations and source excerpts (build_error.h).
#include "sdk/client/build_error.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::sdk {
namespace {

const kiln::v1::BundleFile* FindFile(const kiln::v1::Bundle& bundle, absl::string_view path) {
  for (const kiln::v1::BundleFile& file : bundle.files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

// Reads digits at `*pos`; advances past them. False if there are none.
bool ReadNumber(absl::string_view text, size_t* pos, int* out) {
  size_t start = *pos;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') ++*pos;
  return *pos > start && absl::SimpleAtoi(text.substr(start, *pos - start), out);
}

}  // namespace

std::optional<BuildErrorLocation> FindBuildErrorLocation(absl::string_view error,
                                                         const kiln::v1::Bundle& bundle) {
  for (const kiln::v1::BundleFile& file : bundle.files()) {
    const std::string needle = absl::StrCat(file.path(), ":");
    for (size_t at = error.find(needle); at != absl::string_view::npos;
         at = error.find(needle, at + 1)) {
      // The path must start the message or follow a separator, so "a.js"
      // does not match inside "data.js".
      if (at > 0) {
        char before = error[at - 1];
        if (before != ' ' && before != '\n' && before != '(' && before != '\t' && before != '/') {
          continue;
        }
      }
      size_t pos = at + needle.size();
      BuildErrorLocation where;
      where.file = file.path();
      if (!ReadNumber(error, &pos, &where.line)) continue;
      if (pos < error.size() && error[pos] == ':' && pos + 1 < error.size() &&
          error[pos + 1] >= '0' && error[pos + 1] <= '9') {
        ++pos;
        if (!ReadNumber(error, &pos, &where.column)) continue;
      }
      if (pos < error.size() && error[pos] == ':') ++pos;
      while (pos < error.size() && error[pos] == ' ') ++pos;
      where.message = std::string(error.substr(pos));
      return where;
    }
  }
  return std::nullopt;
}

std::string SourceExcerpt(const BuildErrorLocation& where, const kiln::v1::Bundle& bundle) {
  const kiln::v1::BundleFile* file = FindFile(bundle, where.file);
  if (file == nullptr || where.line < 1) return "";
  std::vector<absl::string_view> lines = absl::StrSplit(file->content(), '\n');
  if (where.line > static_cast<int>(lines.size())) return "";
  absl::string_view line = lines[where.line - 1];
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::string number = absl::StrCat(where.line);
  const std::string gutter(number.size(), ' ');
  std::string out = absl::StrCat("  ", number, " | ", line, "\n");
  if (where.column >= 1) {
    // V8 counts columns in UTF-16 code units; one pad character per code
    // point (tabs kept) puts the caret under the right character.
    std::string pad;
    int units = 0;
    for (size_t i = 0; i < line.size() && units + 1 < where.column;) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      size_t length = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 1;
      units += length == 4 ? 2 : 1;
      pad.push_back(c == '\t' ? '\t' : ' ');
      i += length;
    }
    absl::StrAppend(&out, "  ", gutter, " | ", pad, "^\n");
  }
  return out;
}

}  // namespace kiln::sdk
