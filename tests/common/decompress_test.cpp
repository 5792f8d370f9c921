#include "common/read/decompress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/testutil/bytes.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using ::imab::testing::ByteSpan;
using ::imab::testing::ReadFile;
using ::imab::testing::RunShell;
using ::imab::testing::ShellQuote;
using ::imab::testing::TempDir;
using ::imab::testing::WriteFile;
using ::testing::HasSubstr;

// Something like a kernel: incompressible code, a banner, repetitive data;
// over 64 KiB, so every decoder hands out several chunks.
std::string KernelLike() {
  std::string out;
  uint32_t seed = 1;
  for (int i = 0; i < 120000; ++i) {
    seed = seed * 1103515245u + 12345u;
    out.push_back(static_cast<char>(seed >> 24));
  }
  out += "Linux version 6.1.0 (test@build) (gcc 12.2.0) #1 SMP\n";
  for (int i = 0; i < 2000; ++i) {
    out += "static const struct data_" + std::to_string(i) + ";\n";
  }
  return out;
}

// `plain` through `tool` (stdin to stdout).
std::string Compress(const std::string& tool, const std::string& plain) {
  TempDir dir;
  WriteFile(dir.Sub("in"), plain);
  testing::CommandResult run =
      RunShell(tool + " < " + ShellQuote(dir.Sub("in")) + " > " +
               ShellQuote(dir.Sub("out")));
  EXPECT_EQ(run.exit_code, 0) << tool << ": " << run.err;
  return ReadFile(dir.Sub("out"));
}

struct Format {
  Compression compression;
  const char* tool;  // as the kernel's scripts/Makefile.lib runs it
  // Damages a stream so that its decoder must notice: a flipped byte
  // where the format has a checksum, a broken header or block size where
  // it has none.
  std::function<void(std::string&)> damage;
};

void FlipMiddle(std::string& s) { s[s.size() / 2] ^= 0x01; }

const Format kFormats[] = {
    {Compression::kGzip, "gzip -9 -n", FlipMiddle},
    {Compression::kXz, "xz --check=crc32", FlipMiddle},
    // The properties byte must be below 9 * 5 * 5 (lc, lp, pb).
    {Compression::kLzma, "xz --format=lzma -9",
     [](std::string& s) { s[0] = static_cast<char>(0xe1); }},
    {Compression::kZstd, "zstd -q -19", FlipMiddle},
    // The first block's size halved: the block ends inside a sequence.
    {Compression::kLz4Legacy, "lz4 -q -l -9",
     [](std::string& s) {
       const uint32_t size = uint32_t{static_cast<uint8_t>(s[4])} |
                             uint32_t{static_cast<uint8_t>(s[5])} << 8 |
                             uint32_t{static_cast<uint8_t>(s[6])} << 16;
       s[4] = static_cast<char>((size / 2) & 0xff);
       s[5] = static_cast<char>((size / 2 >> 8) & 0xff);
       s[6] = static_cast<char>((size / 2 >> 16) & 0xff);
     }},
    {Compression::kLz4Frame, "lz4 -q -9", FlipMiddle},  // content checksum
    {Compression::kBzip2, "bzip2 -9", FlipMiddle},
};

class DecompressTest : public ::testing::TestWithParam<Format> {
 protected:
  void SetUp() override {
    plain_ = KernelLike();
    stream_ = Compress(GetParam().tool, plain_);
    ASSERT_FALSE(stream_.empty());
  }
  Result<size_t> Decode(const std::string& input, uint64_t max_output,
                        std::vector<uint8_t>* out) {
    return DecompressStream(ByteSpan(input), GetParam().compression, max_output,
                            out);
  }
  std::string corrupt_prefix() const {
    return std::string("corrupt ") + CompressionName(GetParam().compression) +
           " stream: ";
  }

  std::string plain_;
  std::string stream_;
};

TEST_P(DecompressTest, DecodesWhatTheToolWrote) {
  std::vector<uint8_t> out;
  Result<size_t> used = Decode(stream_, 256u << 20, &out);
  ASSERT_TRUE(used.has_value()) << used.error().message;
  EXPECT_EQ(*used, stream_.size());
  EXPECT_EQ(std::string(out.begin(), out.end()), plain_);
}

// One stream and no more: what follows is the caller's (the next
// initramfs segment, the rest of a kernel).
TEST_P(DecompressTest, StopsAtTheEndOfTheStream) {
  // An lz4 legacy stream has no end of its own: the kernel stops at a
  // block size 0.
  const std::string end = GetParam().compression == Compression::kLz4Legacy
                              ? std::string(4, '\0')
                              : std::string();
  std::vector<uint8_t> out;
  Result<size_t> used =
      Decode(stream_ + end + "trailing bytes", 1u << 20, &out);
  ASSERT_TRUE(used.has_value()) << used.error().message;
  EXPECT_EQ(*used, stream_.size());
  EXPECT_EQ(out.size(), plain_.size());
}

TEST_P(DecompressTest, TruncatedStreamIsMalformed) {
  std::vector<uint8_t> out;
  Result<size_t> used =
      Decode(stream_.substr(0, stream_.size() / 2), 256u << 20, &out);
  ASSERT_FALSE(used.has_value());
  EXPECT_EQ(used.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(used.error().message, HasSubstr(corrupt_prefix()));
  // What came before the cut is kept (the kernel scan counts it).
  EXPECT_LT(out.size(), plain_.size());
  EXPECT_EQ(std::string(out.begin(), out.end()), plain_.substr(0, out.size()));
}

TEST_P(DecompressTest, DamagedStreamIsMalformed) {
  std::string damaged = stream_;
  GetParam().damage(damaged);
  std::vector<uint8_t> out;
  Result<size_t> used = Decode(damaged, 256u << 20, &out);
  ASSERT_FALSE(used.has_value());
  EXPECT_EQ(used.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(used.error().message, HasSubstr(corrupt_prefix()));
}

// The bound is checked before output passes it: one byte short is
// refused, with no more than the bound kept; the exact size passes.
TEST_P(DecompressTest, OutputIsBounded) {
  std::vector<uint8_t> out;
  Result<size_t> used = Decode(stream_, plain_.size() - 1, &out);
  ASSERT_FALSE(used.has_value());
  EXPECT_EQ(used.error().code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(used.error().message,
              HasSubstr(std::string(CompressionName(GetParam().compression)) +
                        " stream decompresses to more than " +
                        std::to_string(plain_.size() - 1) + " bytes"));
  EXPECT_LE(out.size(), plain_.size() - 1);
  out.clear();
  EXPECT_TRUE(Decode(stream_, plain_.size(), &out).has_value());
}

INSTANTIATE_TEST_SUITE_P(Formats, DecompressTest, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<Format>& p) {
                           std::string name =
                               CompressionName(p.param.compression);
                           for (char& c : name) {
                             c = c == ' ' ? '_' : c;
                           }
                           return name;
                         });

// Past one 8 MiB block, and two legacy streams back to back (the magic
// again), as lib/decompress_unlz4.c reads them.
TEST(DecompressLz4LegacyTest, ReadsSeveralBlocksAndConcatenatedStreams) {
  const std::string plain(9u << 20, 'k');
  const std::string stream = Compress("lz4 -q -l -9", plain);
  std::vector<uint8_t> out;
  Result<size_t> used = DecompressStream(
      ByteSpan(stream + stream), Compression::kLz4Legacy, 256u << 20, &out);
  ASSERT_TRUE(used.has_value()) << used.error().message;
  EXPECT_EQ(out.size(), 2 * plain.size());
  EXPECT_EQ(*used, 2 * stream.size());
}

// A header asking for a 4 GiB dictionary is refused before the decoder
// allocates it.
TEST(DecompressLzmaTest, DictionaryPastTheLimitIsRefused) {
  std::string stream = Compress("xz --format=lzma -9", KernelLike());
  stream.replace(1, 4, std::string(4, '\xff'));
  std::vector<uint8_t> out;
  Result<size_t> used =
      DecompressStream(ByteSpan(stream), Compression::kLzma, 256u << 20, &out);
  ASSERT_FALSE(used.has_value());
  EXPECT_EQ(used.error().code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(used.error().message, HasSubstr("bytes of decoder memory"));
}

}  // namespace
}  // namespace imab
