// IsUtf8 against well-formed text and each kind of malformed sequence.
#include "common/utf8.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(Utf8Test, WellFormedAndMalformed) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ascii"));
  EXPECT_TRUE(IsUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"));  // é € 🔑
  EXPECT_TRUE(IsUtf8("\xf4\x8f\xbf\xbf"));                           // U+10FFFF
  EXPECT_FALSE(IsUtf8("\x80"));                                      // a lone continuation byte
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));                                  // overlong
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));                              // a surrogate
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));                          // past U+10FFFF
  EXPECT_FALSE(IsUtf8("\xe2\x82"));                                  // cut short
  EXPECT_FALSE(IsUtf8("\xff"));
}

}  // namespace
}  // namespace kiln
