// kiln dev's change detection: what counts as a change and what is ignored.
#include "sdk/cli/watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sdk/cli/testing/kiln_process.h"

namespace kiln::sdk::cli {
namespace {

using ::testing::ElementsAre;
using testing::WriteFile;

TEST(WatchTest, SeesAddedRemovedAndModifiedFilesButNotIgnoredOnes) {
  const std::string dir = testing::TestDir();
  WriteFile(dir + "/fn/index.js", "1");
  WriteFile(dir + "/fn/kiln.toml", "");
  WriteFile(dir + "/fn/lib/a.js", "a");
  FileStamps before = StampFunction(dir + "/fn");
  EXPECT_EQ(before.size(), 3u);
  EXPECT_TRUE(before.contains("lib/a.js"));

  WriteFile(dir + "/fn/.git/HEAD", "x");
  WriteFile(dir + "/fn/node_modules/x/index.js", "x");
  WriteFile(dir + "/fn/.swp", "x");
  EXPECT_EQ(StampFunction(dir + "/fn"), before);

  WriteFile(dir + "/fn/index.js", "22");  // size changes, whatever the clock's resolution
  WriteFile(dir + "/fn/lib/b.js", "b");
  std::filesystem::remove(dir + "/fn/lib/a.js");
  FileStamps after = StampFunction(dir + "/fn");
  EXPECT_THAT(ChangedFiles(before, after), ElementsAre("index.js", "lib/a.js", "lib/b.js"));
  EXPECT_TRUE(ChangedFiles(after, after).empty());
}

TEST(WatchTest, StampsASingleFileOrNothing) {
  const std::string dir = testing::TestDir();
  WriteFile(dir + "/one.js", "1");
  EXPECT_EQ(StampFunction(dir + "/one.js").size(), 1u);
  EXPECT_TRUE(StampFunction(dir + "/missing.js").empty());
}

}  // namespace
}  // namespace kiln::sdk::cli
