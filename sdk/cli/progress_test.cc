// The deploy progress line: when it is shown, what it says, that it redraws in
// place no more often than asked, and that it leaves the line erased.
#include "sdk/cli/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"

namespace kiln::sdk::cli {
namespace {

using ::testing::ElementsAre;

// What was written to a memory stream.
class Captured {
 public:
  Captured() : file_(open_memstream(&buffer_, &size_)) {}
  ~Captured() {
    std::fclose(file_);
    std::free(buffer_);
  }
  FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

TEST(ProgressTest, ShownOnlyForBigBundlesOnATerminalWithoutJson) {
  EXPECT_TRUE(ShowUploadProgress(false, true, kProgressMinBytes));
  EXPECT_FALSE(ShowUploadProgress(false, true, kProgressMinBytes - 1));
  EXPECT_FALSE(ShowUploadProgress(true, true, 10 << 20));
  EXPECT_FALSE(ShowUploadProgress(false, false, 10 << 20));
}

TEST(ProgressTest, TextSaysBytesSentOfTotal) {
  EXPECT_EQ(UploadProgressText("hello", 0, 3 << 20), "Uploading hello: 0 bytes / 3.0 MiB (0%)");
  EXPECT_EQ(UploadProgressText("hello", 1536 * 1024, 3 << 20),
            "Uploading hello: 1.5 MiB / 3.0 MiB (50%)");
  EXPECT_EQ(UploadProgressText("big", 3 << 20, 3 << 20), "Uploading big: 3.0 MiB / 3.0 MiB (100%)");
}

TEST(ProgressTest, RedrawsInPlaceAtMostEveryIntervalAndEndsErased) {
  Captured out;
  absl::Time now = absl::UnixEpoch();
  {
    ProgressLine line(out.file(), "hello", absl::Milliseconds(100), [&now] { return now; });
    line.Update(64 << 10, 1 << 20);  // first: drawn
    now += absl::Milliseconds(50);
    line.Update(128 << 10, 1 << 20);  // too soon: skipped
    now += absl::Milliseconds(60);
    line.Update(512 << 10, 1 << 20);  // drawn
    line.Update(1 << 20, 1 << 20);    // the end: always drawn
  }                                   // destroyed: erased
  std::vector<std::string> frames = absl::StrSplit(out.text(), "\r\033[K");
  EXPECT_THAT(frames, ElementsAre("", "Uploading hello: 64.0 KiB / 1.0 MiB (6%)",
                                  "Uploading hello: 512.0 KiB / 1.0 MiB (50%)",
                                  "Uploaded 1.0 MiB; building hello...", ""));
}

TEST(ProgressTest, NothingDrawnNothingErased) {
  Captured out;
  {
    ProgressLine line(out.file(), "hello");
    line.Clear();
  }
  EXPECT_EQ(out.text(), "");
}

}  // namespace
}  // namespace kiln::sdk::cli
