#include "common/read/digest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/read/hex.h"
#include "tests/testutil/bytes.h"
#include "tests/testutil/status_matchers.h"

namespace imab {
namespace {

using imab::testing::ByteSpan;
using imab::testing::StatusIs;
using ::testing::HasSubstr;

// FIPS 180-2 appendix B vectors.
constexpr char kEmptySha[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcSha[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kTwoBlockMsg[] =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr char kTwoBlockSha[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kMillionASha[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256Test, KnownVectorsOneShot) {
  auto empty = Sha256Of({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(HexEncode(*empty), kEmptySha);
  auto abc = Sha256Of(ByteSpan("abc"));
  ASSERT_TRUE(abc.has_value());
  EXPECT_EQ(HexEncode(*abc), kAbcSha);
  auto two = Sha256Of(ByteSpan(kTwoBlockMsg));
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(HexEncode(*two), kTwoBlockSha);
}

TEST(Sha256Test, StreamingMatchesOneShotAcrossChunkSizes) {
  auto h = Sha256::Create();
  ASSERT_TRUE(h.has_value());
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) {
    h->Update(chunk);
  }
  EXPECT_EQ(HexEncode(h->Finish()), kMillionASha);

  // Odd split points, one of them an empty update.
  std::string_view msg = kTwoBlockMsg;
  ASSERT_EQ(msg.size(), 56u);
  h->Update(msg.substr(0, 1));
  h->Update(ByteSpan(msg.substr(1, 40)));
  h->Update(std::string_view());
  h->Update(msg.substr(41));
  EXPECT_EQ(HexEncode(h->Finish()), kTwoBlockSha);
}

TEST(Sha256Test, FinishResetsForReuse) {
  auto h = Sha256::Create();
  ASSERT_TRUE(h.has_value());
  h->Update("abc");
  EXPECT_EQ(HexEncode(h->Finish()), kAbcSha);
  EXPECT_EQ(HexEncode(h->Finish()), kEmptySha);
  h->Update("abc");
  EXPECT_EQ(HexEncode(h->Finish()), kAbcSha);
}

TEST(DigestEqualsTest, ComparesEveryByte) {
  Sha256Digest a = *Sha256Of(ByteSpan("abc"));
  Sha256Digest b = a;
  EXPECT_TRUE(DigestEquals(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(DigestEquals(a, b));
  b = a;
  b[0] ^= 0x80;
  EXPECT_FALSE(DigestEquals(a, b));
  EXPECT_FALSE(DigestEquals(a, Sha256Digest{}));
}

TEST(HexTest, EncodesLowerCase) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
  EXPECT_EQ(HexEncode(bytes), "0001abcdefff");
  EXPECT_EQ(HexEncode(std::string_view("\x7f\x80", 2)), "7f80");
  EXPECT_EQ(HexEncode(std::string_view()), "");
}

TEST(HexTest, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  auto decoded = HexDecode(HexEncode(all));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, all);
}

TEST(HexTest, DecodesEmpty) {
  auto decoded = HexDecode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(HexTest, RejectsOddLength) {
  auto decoded = HexDecode("abc");
  ASSERT_THAT(decoded,
              StatusIs(ErrorCode::kMalformed, HasSubstr("odd-length")));
}

TEST(HexTest, RejectsUpperCase) {
  // Only one spelling per byte string, so signed text is canonical.
  auto decoded = HexDecode("AB");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
  EXPECT_FALSE(HexDecode("aB").has_value());
}

TEST(HexTest, RejectsNonHexCharacters) {
  const std::vector<std::string> cases = {
      "0g", "g0", "  ", "0x", "-1", "1\n", std::string("\0\0", 2), "+f"};
  for (const std::string& bad : cases) {
    auto decoded = HexDecode(bad);
    EXPECT_FALSE(decoded.has_value()) << "accepted '" << bad << "'";
  }
  auto decoded = HexDecode("00zz");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_THAT(decoded.error().message, HasSubstr("offset 2"));
}

}  // namespace
}  // namespace imab
