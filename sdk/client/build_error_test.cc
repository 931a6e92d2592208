// Finding "file:line:column" in a failed deploy's message and showing the
// offending source line with a caret under the column.
#include "sdk/client/build_error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::sdk {
namespace {

kiln::v1::Bundle Bundle(std::vector<std::pair<std::string, std::string>> files) {
  kiln::v1::Bundle bundle;
  for (auto& [path, content] : files) {
    auto* file = bundle.add_files();
    file->set_path(path);
    file->set_content(content);
  }
  return bundle;
}

TEST(BuildErrorTest, FindsTheLocationAfterAPrefix) {
  kiln::v1::Bundle bundle = Bundle({{"index.js", ""}, {"lib/util.js", ""}});
  std::optional<BuildErrorLocation> where = FindBuildErrorLocation(
      "build failed: lib/util.js:3:14: SyntaxError: Unexpected token '}'", bundle);
  ASSERT_TRUE(where.has_value());
  EXPECT_EQ(where->file, "lib/util.js");
  EXPECT_EQ(where->line, 3);
  EXPECT_EQ(where->column, 14);
  EXPECT_EQ(where->message, "SyntaxError: Unexpected token '}'");
}

TEST(BuildErrorTest, LineWithoutColumn) {
  kiln::v1::Bundle bundle = Bundle({{"index.js", ""}});
  std::optional<BuildErrorLocation> where =
      FindBuildErrorLocation("index.js:7: Error: boom", bundle);
  ASSERT_TRUE(where.has_value());
  EXPECT_EQ(where->line, 7);
  EXPECT_EQ(where->column, 0);
  EXPECT_EQ(where->message, "Error: boom");
}

TEST(BuildErrorTest, OnlyPathsOfTheBundleAtAWordBoundaryCount) {
  kiln::v1::Bundle bundle = Bundle({{"a.js", ""}});
  EXPECT_FALSE(FindBuildErrorLocation("data.js:1:1: x", bundle).has_value());
  EXPECT_FALSE(FindBuildErrorLocation("other.js:1:1: x", bundle).has_value());
  EXPECT_FALSE(FindBuildErrorLocation("a.js: no line number", bundle).has_value());
  EXPECT_FALSE(FindBuildErrorLocation("", bundle).has_value());
  EXPECT_TRUE(FindBuildErrorLocation("(a.js:1:1) x", bundle).has_value());
}

TEST(BuildErrorTest, ExcerptPutsTheCaretUnderTheColumn) {
  kiln::v1::Bundle bundle =
      Bundle({{"index.js", "export default {\n  fetch() { return new Response(\"hi\" }\n};\n"}});
  BuildErrorLocation where{"index.js", 2, 37, "SyntaxError: missing ) after argument list"};
  EXPECT_EQ(SourceExcerpt(where, bundle),
            "  2 |   fetch() { return new Response(\"hi\" }\n"
            "    |                                     ^\n");
}

TEST(BuildErrorTest, ExcerptKeepsTabsAndCountsUtf16Columns) {
  // "é" is one UTF-16 unit (2 bytes), "😀" is two (4 bytes); V8 counts units.
  kiln::v1::Bundle bundle = Bundle({{"a.js", "\tconst s = \"é😀\"; !\r\n"}});
  BuildErrorLocation where{"a.js", 1, 19, ""};
  EXPECT_EQ(SourceExcerpt(where, bundle),
            "  1 | \tconst s = \"é😀\"; !\n"
            "    | \t                ^\n");
}

TEST(BuildErrorTest, ExcerptIsEmptyWhenTheLineIsNotThere) {
  kiln::v1::Bundle bundle = Bundle({{"a.js", "one line"}});
  EXPECT_EQ(SourceExcerpt({"a.js", 5, 1, ""}, bundle), "");
  EXPECT_EQ(SourceExcerpt({"b.js", 1, 1, ""}, bundle), "");
  EXPECT_EQ(SourceExcerpt({"a.js", 0, 1, ""}, bundle), "");
  // No column: the line without a caret.
  EXPECT_EQ(SourceExcerpt({"a.js", 1, 0, ""}, bundle), "  1 | one line\n");
}

}  // namespace
}  // namespace kiln::sdk
