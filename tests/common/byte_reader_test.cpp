#include "common/read/byte_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace imab {
namespace {

constexpr std::array<uint8_t, 8> kBytes = {0x01, 0x02, 0x03, 0x04,
                                           0x05, 0x06, 0x07, 0x08};

TEST(ByteReaderTest, ReadsIntegersInBothByteOrders) {
  ByteReader r{std::span<const uint8_t>(kBytes)};
  EXPECT_EQ(r.remaining(), 8u);
  auto u8 = r.ReadU8();
  ASSERT_TRUE(u8.has_value());
  EXPECT_EQ(*u8, 0x01);
  auto be16 = r.ReadU16Be();
  ASSERT_TRUE(be16.has_value());
  EXPECT_EQ(*be16, 0x0203);
  auto le16 = r.ReadU16Le();
  ASSERT_TRUE(le16.has_value());
  EXPECT_EQ(*le16, 0x0504);
  EXPECT_EQ(r.position(), 5u);
  EXPECT_EQ(r.remaining(), 3u);
}

TEST(ByteReaderTest, Reads32And64Bit) {
  ByteReader be{std::span<const uint8_t>(kBytes)};
  auto v = be.ReadU32Be();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 0x01020304u);
  auto w = be.ReadU32Le();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w, 0x08070605u);
  EXPECT_TRUE(be.empty());

  ByteReader le{std::span<const uint8_t>(kBytes)};
  auto q = le.ReadU64Le();
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(*q, 0x0807060504030201ull);
  EXPECT_TRUE(le.empty());
}

TEST(ByteReaderTest, HighBitsDoNotSignExtend) {
  std::array<uint8_t, 8> ff;
  ff.fill(0xff);
  ByteReader r{std::span<const uint8_t>(ff)};
  EXPECT_EQ(*r.ReadU16Be(), 0xffffu);
  EXPECT_EQ(*r.ReadU16Le(), 0xffffu);
  EXPECT_EQ(*r.ReadU32Be(), 0xffffffffu);
  ByteReader r64{std::span<const uint8_t>(ff)};
  EXPECT_EQ(*r64.ReadU64Le(), 0xffffffffffffffffull);
}

TEST(ByteReaderTest, ShortReadFailsAndConsumesNothing) {
  ByteReader r{std::span<const uint8_t>(kBytes.data(), 3)};
  auto v = r.ReadU32Be();
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(r.position(), 0u);
  EXPECT_FALSE(r.ReadU64Le().has_value());
  EXPECT_FALSE(r.ReadBytes(4).has_value());
  EXPECT_FALSE(r.Skip(4).ok());
  EXPECT_EQ(r.remaining(), 3u);
  // Exactly what remains still works.
  auto all = r.ReadBytes(3);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_FALSE(r.ReadU8().has_value());
  EXPECT_FALSE(r.ReadU16Le().has_value());
}

TEST(ByteReaderTest, HugeLengthDoesNotOverflow) {
  ByteReader r{std::span<const uint8_t>(kBytes)};
  ASSERT_TRUE(r.Skip(2).ok());
  EXPECT_FALSE(r.ReadBytes(SIZE_MAX).has_value());
  EXPECT_FALSE(r.ReadBytes(SIZE_MAX - 1).has_value());
  EXPECT_FALSE(r.Skip(SIZE_MAX).ok());
  EXPECT_EQ(r.remaining(), 6u);
}

TEST(ByteReaderTest, ZeroLengthReadsSucceedAtEnd) {
  ByteReader r{std::span<const uint8_t>()};
  EXPECT_TRUE(r.empty());
  auto none = r.ReadBytes(0);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(r.Skip(0).ok());
  EXPECT_FALSE(r.ReadU8().has_value());
  EXPECT_TRUE(r.ReadRest().empty());
}

TEST(ByteReaderTest, ReadStringAndRest) {
  ByteReader r{std::string_view("hello world")};
  auto hello = r.ReadString(5);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(*hello, "hello");
  ASSERT_TRUE(r.Skip(1).ok());
  auto rest = r.ReadRest();
  EXPECT_EQ(std::string(rest.begin(), rest.end()), "world");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadString(1).has_value());
}

TEST(ByteReaderTest, ReadUntilConsumesDelimiter) {
  ByteReader r{std::string_view("key value\nnext\n")};
  auto key = r.ReadUntil(' ');
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, "key");
  auto value = r.ReadUntil('\n');
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "value");
  auto next = r.ReadUntil('\n');
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, "next");
  EXPECT_TRUE(r.empty());
}

TEST(ByteReaderTest, ReadUntilEmptyToken) {
  ByteReader r{std::string_view("\nx")};
  auto empty = r.ReadUntil('\n');
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteReaderTest, ReadUntilWithoutDelimiterFails) {
  ByteReader r{std::string_view("no newline")};
  auto line = r.ReadUntil('\n');
  ASSERT_FALSE(line.has_value());
  EXPECT_EQ(line.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(r.position(), 0u);
  ByteReader empty{std::string_view()};
  EXPECT_FALSE(empty.ReadUntil('\n').has_value());
}

TEST(ByteReaderTest, DelimiterSearchStaysInsideSpan) {
  // The byte after the span is a delimiter; the reader must not see it.
  std::string backing = "abc\n";
  ByteReader r{std::string_view(backing).substr(0, 3)};
  EXPECT_FALSE(r.ReadUntil('\n').has_value());
}

}  // namespace
}  // namespace imab
