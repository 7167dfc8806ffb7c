#include "common/text.h"

#include <string>

#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

TEST(CodePointsTest, CountsCharactersNotBytes) {
  EXPECT_EQ(CodePoints(""), 0u);
  EXPECT_EQ(CodePoints("abc"), 3u);
  EXPECT_EQ(CodePoints("\u00e9t\u00e9"), 3u);       // 5 bytes
  EXPECT_EQ(CodePoints("\U0001F600\u20ac"), 2u);  // 4 + 3 bytes
}

TEST(PrefixCodePointsTest, CutsAtACharacterBoundaryAfterMaxCharacters) {
  EXPECT_EQ(PrefixCodePoints("abc", 5), "abc");
  EXPECT_EQ(PrefixCodePoints("abc", 3), "abc");
  EXPECT_EQ(PrefixCodePoints("abc", 2), "ab");
  EXPECT_EQ(PrefixCodePoints("abc", 0), "");
  // Multi-byte characters are kept whole: "é" is 2 bytes, the emoji 4.
  EXPECT_EQ(PrefixCodePoints("\u00e9\u00e9\u00e9", 2), "\u00e9\u00e9");
  EXPECT_EQ(PrefixCodePoints("a\U0001F600b", 2), "a\U0001F600");
  EXPECT_EQ(PrefixCodePoints("a\U0001F600b", 1), "a");
  // 300 two-byte characters fit a 255-character column as 255 of them (510 bytes).
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "\u00e9";
  EXPECT_EQ(PrefixCodePoints(long_text, 255).size(), 510u);
  EXPECT_EQ(CodePoints(PrefixCodePoints(long_text, 255)), 255u);
}

TEST(IsValidUtf8Test, RefusesWhatProtobufRefuses) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain \u00e9\u20ac\U0001F600 \U0010FFFF"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // a continuation byte alone
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // a cut sequence
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_EQ(Utf8SequenceAt("a\u00e9", 1), 2u);
  EXPECT_EQ(Utf8SequenceAt("a\u00e9", 2), 0u);  // inside a character
}

}  // namespace
}  // namespace marketplace::common
