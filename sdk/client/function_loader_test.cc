// Loading functions from disk: which files a bundle holds, how the name and
// main module are chosen, and the size limits — each failure a message that
// says what to change. Real files in a per-test temp folder.
#include "sdk/client/function_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace kiln::sdk {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FunctionLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = fs::path(tmp ? tmp : "/tmp") /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  // Writes `content` to `relative` under the test folder, creating folders.
  std::string Write(const std::string& relative, const std::string& content) {
    fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::string Dir(const std::string& relative = "") const { return (root_ / relative).string(); }

  static std::vector<std::string> Paths(const kiln::v1::DeployRequest& request) {
    std::vector<std::string> paths;
    for (const auto& file : request.bundle().files()) paths.push_back(file.path());
    return paths;
  }

  fs::path root_;
};

TEST_F(FunctionLoaderTest, FolderBundlesEveryFileRecursivelyWithSlashPaths) {
  Write("fn/kiln.toml", "name = \"shop\"\nmain = \"src/index.js\"\n[vars]\nA = \"1\"\n");
  Write("fn/src/index.js", "export default {}");
  Write("fn/src/lib/util.mjs", "export const x = 1;");
  Write("fn/data/table.json", "{}");
  Write("fn/README", "docs");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "shop");
  EXPECT_EQ(request->tenant(), "");
  EXPECT_EQ(request->bundle().main_module(), "src/index.js");
  EXPECT_THAT(Paths(*request),
              ElementsAre("README", "data/table.json", "src/index.js", "src/lib/util.mjs"));
  EXPECT_EQ(request->bundle().files(2).content(), "export default {}");
  EXPECT_EQ(request->config().vars().at("A"), "1");
}

TEST_F(FunctionLoaderTest, SkipsDotfilesNodeModulesAndTheRootConfigOnly) {
  Write("fn/kiln.toml", "name = \"fn\"\n");
  Write("fn/index.js", "export default {}");
  Write("fn/.env", "SECRET=1");
  Write("fn/.git/config", "x");
  Write("fn/node_modules/left-pad/index.js", "x");
  Write("fn/lib/node_modules/x.js", "x");
  Write("fn/lib/.hidden.js", "x");
  Write("fn/sub/kiln.toml", "nested config is just a file");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(Paths(*request), ElementsAre("index.js", "sub/kiln.toml"));
}

TEST_F(FunctionLoaderTest, ExcludePatternsMatchPathsAndNamesAtAnyDepth) {
  Write("fn/kiln.toml", "exclude = [\"*.md\", \"test/*\", \"fixtures\"]\n");
  Write("fn/index.js", "export default {}");
  Write("fn/README.md", "x");
  Write("fn/docs/guide.md", "x");
  Write("fn/test/a_test.js", "x");
  Write("fn/lib/fixtures/big.json", "x");
  Write("fn/lib/util.js", "x");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(Paths(*request), ElementsAre("index.js", "lib/util.js"));
}

TEST_F(FunctionLoaderTest, SymlinkedFilesAreFollowedSymlinkedFoldersAreNot) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "export default {}");
  Write("shared/util.js", "export const u = 1;");
  fs::create_symlink(root_ / "shared/util.js", root_ / "fn/util.js");
  fs::create_directory_symlink(root_ / "shared", root_ / "fn/shared");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(Paths(*request), ElementsAre("index.js", "util.js"));
  EXPECT_EQ(request->bundle().files(1).content(), "export const u = 1;");
}

TEST_F(FunctionLoaderTest, NameDefaultsToTheFolderAndMainToIndexJsThenIndexMjs) {
  Write("my-api/kiln.toml", "");
  Write("my-api/index.mjs", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("my-api"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "my-api");
  EXPECT_EQ(request->bundle().main_module(), "index.mjs");

  Write("my-api/index.js", "export default {}");
  request = LoadFunctionDir(Dir("my-api/"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "my-api");
  EXPECT_EQ(request->bundle().main_module(), "index.js");
}

TEST_F(FunctionLoaderTest, FolderNameWorksFromInsideTheFolder) {
  Write("inside/kiln.toml", "");
  Write("inside/index.js", "export default {}");
  char previous[4096];
  ASSERT_NE(getcwd(previous, sizeof previous), nullptr);
  ASSERT_EQ(chdir(Dir("inside").c_str()), 0);
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(".");
  ASSERT_EQ(chdir(previous), 0);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "inside");
}

TEST_F(FunctionLoaderTest, InvalidFolderNameSuggestsAName) {
  Write("My_App/kiln.toml", "");
  Write("My_App/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("My_App"));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("\"My_App\""));
  EXPECT_THAT(request.status().message(), HasSubstr("add name = \"my-app\""));
  // --name makes the folder's name irrelevant.
  request = LoadFunction(Dir("My_App"), "my-app");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "my-app");
}

TEST_F(FunctionLoaderTest, NameOverrideReplacesTheConfiguredNameAndIsChecked) {
  Write("fn/kiln.toml", "name = \"configured\"\n");
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunction(Dir("fn"), "override");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "override");
  request = LoadFunction(Dir("fn"), "Bad Name");
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("fix --name"));
}

TEST_F(FunctionLoaderTest, InvalidConfiguredNameSaysToFixIt) {
  Write("fn/kiln.toml", "name = \"-bad-\"\n");
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("must start and end with"));
  EXPECT_THAT(request.status().message(), HasSubstr("fix `name`"));
}

TEST_F(FunctionLoaderTest, MissingConfigSuggestsOneOrASingleFile) {
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(request.status().message(), HasSubstr("no kiln.toml in"));
  EXPECT_THAT(request.status().message(), HasSubstr("kiln deploy " + Dir("fn") + "/index.js"));
}

TEST_F(FunctionLoaderTest, ConfigErrorsNameTheFileAndLine) {
  Write("fn/kiln.toml", "name = \"fn\"\n\n[limits]\ncpu = 5\n");
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(),
              HasSubstr(Dir("fn") + "/kiln.toml:4:1: unknown key \"limits.cpu\""));
}

TEST_F(FunctionLoaderTest, NoEntryModuleSaysToSetMain) {
  Write("fn/kiln.toml", "name = \"fn\"\n");
  Write("fn/src/worker.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("has no index.js or index.mjs"));
  EXPECT_THAT(request.status().message(), HasSubstr("add main = "));
}

TEST_F(FunctionLoaderTest, MainThatIsNotThereOrIsLeftOutIsExplained) {
  Write("fn/kiln.toml", "main = \"src/missing.js\"\n");
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(),
              HasSubstr("main module \"src/missing.js\" is not a file in"));

  Write("fn/kiln.toml", "main = \"index.js\"\nexclude = [\"index.js\"]\n");
  request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("is left out of the bundle"));
}

TEST_F(FunctionLoaderTest, ConfigBreakingServerRulesFailsBeforeUpload) {
  Write("fn/kiln.toml", "secrets = [\"TOKEN\"]\n[vars]\nTOKEN = \"x\"\n");
  Write("fn/index.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(),
              HasSubstr("secret \"TOKEN\" has the same name as an env var"));
}

TEST_F(FunctionLoaderTest, SingleFileIsNamedAfterItsStem) {
  std::string path = Write("api.mjs", "export default { fetch() {} }");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFile(path);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "api");
  EXPECT_EQ(request->bundle().main_module(), "api.mjs");
  EXPECT_THAT(Paths(*request), ElementsAre("api.mjs"));
  EXPECT_EQ(request->config().ByteSizeLong(), 0u);
  // LoadFunction picks the same for a file.
  request = LoadFunction(path);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "api");
}

TEST_F(FunctionLoaderTest, SingleFileOfAnotherKindIsRefused) {
  std::string path = Write("worker.ts", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFile(path);
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("is not a .js or .mjs file"));
}

TEST_F(FunctionLoaderTest, SingleFileWithAnUnusableStemSuggestsName) {
  std::string path = Write("My Worker.js", "export default {}");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFile(path);
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("pass --name my-worker"));
  request = LoadFunction(path, "my-worker");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->bundle().main_module(), "My Worker.js");
}

TEST_F(FunctionLoaderTest, NothingAtThePathIsNotFound) {
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunction(Dir("nope"));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(request.status().message(), HasSubstr("nothing at"));
}

TEST_F(FunctionLoaderTest, AFileOverTheBundleLimitIsNamed) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "export default {}");
  Write("fn/assets/video.bin", std::string(10 * 1024 * 1024 + 1, 'x'));
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("assets/video.bin is 10.0 MiB"));
  EXPECT_THAT(request.status().message(), HasSubstr("`exclude`"));
}

TEST_F(FunctionLoaderTest, FilesTogetherOverTheBundleLimitAreRefused) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "export default {}");
  Write("fn/a.bin", std::string(6 * 1024 * 1024, 'a'));
  Write("fn/b.bin", std::string(6 * 1024 * 1024, 'b'));
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("hold more than 10 MiB"));
}

TEST_F(FunctionLoaderTest, ExactlyTheLimitsAreAccepted) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "");
  Write("fn/a.bin", std::string(10 * 1024 * 1024, 'a'));  // with the empty index.js: exactly 10 MiB
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_TRUE(request.ok()) << request.status();
}

TEST_F(FunctionLoaderTest, MoreThanAThousandFilesAreRefused) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "export default {}");
  for (int i = 0; i < 1000; ++i) Write(absl::StrCat("fn/many/f", i, ".txt"), "x");
  absl::StatusOr<std::vector<FunctionFile>> files = ListFunctionFiles(Dir("fn"), {});
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("more than 1000 files"));
  // Leaving one out brings it to exactly 1,000: fine.
  files = ListFunctionFiles(Dir("fn"), {"f999.txt"});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 1000u);
}

TEST_F(FunctionLoaderTest, BackslashInAFileNameIsRefused) {
  Write("fn/kiln.toml", "");
  Write("fn/index.js", "export default {}");
  Write("fn/odd\\name.js", "x");
  absl::StatusOr<kiln::v1::DeployRequest> request = LoadFunctionDir(Dir("fn"));
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("contains a backslash"));
}

TEST_F(FunctionLoaderTest, ListingANonFolderFails) {
  std::string path = Write("file.js", "x");
  absl::StatusOr<std::vector<FunctionFile>> files = ListFunctionFiles(path, {});
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("is not a folder"));
}

}  // namespace
}  // namespace kiln::sdk
