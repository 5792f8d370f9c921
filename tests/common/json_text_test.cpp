#include "common/read/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace imab {
namespace {

TEST(JsonStringTest, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(JsonString("usr/lib/libc.so.6"), "\"usr/lib/libc.so.6\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

TEST(JsonStringTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonStringTest, ControlAndHighBytesBecomeUnicodeEscapes) {
  // A newline in a hostile file name must not break the one-line report;
  // a byte that is not valid UTF-8 must not make the JSON invalid.
  EXPECT_EQ(JsonString(std::string("a\nb\x7f", 4)), "\"a\\u000ab\\u007f\"");
  EXPECT_EQ(JsonString(std::string("\xff\x01", 2)), "\"\\u00ff\\u0001\"");
  EXPECT_EQ(JsonString(std::string("x\0y", 3)), "\"x\\u0000y\"");
}

}  // namespace
}  // namespace imab
