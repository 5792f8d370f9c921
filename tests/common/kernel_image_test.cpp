#include "common/read/kernel_image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/testutil/bytes.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::ByteSpan;
using imab::testing::StatusIs;
using ::testing::HasSubstr;
using testing::KernelWrap;

class KernelImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeRootCa(dir_.Sub(""), "ca");
    other_ = testing::MakeRootCa(dir_.Sub(""), "other");
    ca_der_ = Der(ca_);
    other_der_ = Der(other_);
  }
  std::string Der(const testing::TestIdentity& id) {
    std::string out = id.cert_path + ".der";
    EXPECT_EQ(testing::RunShell(
                  "openssl x509 -in " + testing::ShellQuote(id.cert_path) +
                  " -outform DER -out " + testing::ShellQuote(out))
                  .exit_code,
              0);
    return testing::ReadFile(out);
  }
  std::string Kernel(KernelWrap wrap) {
    const std::string path = dir_.Sub("kernel");
    testing::WriteFakeKernel(path, {ca_.cert_path}, wrap, "6.6.13");
    return testing::ReadFile(path);
  }

  testing::TempDir dir_;
  testing::TestIdentity ca_, other_;
  std::string ca_der_, other_der_;
};

TEST_F(KernelImageTest, FindsTheCaAndVersionInEveryWrap) {
  for (KernelWrap wrap : {KernelWrap::kBzImageGzip, KernelWrap::kBzImageXz,
                          KernelWrap::kBzImageZstd, KernelWrap::kBzImageLz4,
                          KernelWrap::kBzImageBzip2, KernelWrap::kArm64Image,
                          KernelWrap::kArm64ImageGz}) {
    SCOPED_TRACE(testing::KernelWrapName(wrap));
    std::string kernel = Kernel(wrap);
    Result<KernelImageScan> scan =
        ScanKernelImage(ByteSpan(kernel), {ca_der_, other_der_}, 256u << 20);
    ASSERT_TRUE(scan.has_value()) << scan.error().message;
    EXPECT_TRUE(scan->found[0]);
    EXPECT_FALSE(scan->found[1]);
    ASSERT_TRUE(scan->version.has_value());
    EXPECT_EQ(scan->version->first, 6u);
    EXPECT_EQ(scan->version->second, 6u);
  }
}

// The certificate must be in the kernel, not beside it: bytes appended to
// a bzImage or an Image.gz are not loaded as the kernel.
TEST_F(KernelImageTest, CertificateAppendedOutsideTheKernelDoesNotCount) {
  for (KernelWrap wrap :
       {KernelWrap::kBzImageGzip, KernelWrap::kArm64ImageGz}) {
    SCOPED_TRACE(testing::KernelWrapName(wrap));
    std::string kernel = Kernel(wrap) + other_der_;
    Result<KernelImageScan> scan =
        ScanKernelImage(ByteSpan(kernel), {other_der_}, 256u << 20);
    ASSERT_TRUE(scan.has_value());
    EXPECT_FALSE(scan->found[0]);
  }
}

// Decompressed output arrives in 64 KiB chunks: a certificate straddling
// two of them is still found.
TEST_F(KernelImageTest, FindsACertificateAcrossChunks) {
  std::string plain = testing::Arm64Image("Linux version 6.1.0 " +
                                          std::string(65536 - 100, 'x') +
                                          ca_der_ + std::string(1000, 'y'));
  const std::string in = dir_.Sub("plain"), out = dir_.Sub("plain.gz");
  testing::WriteFile(in, plain);
  ASSERT_EQ(testing::RunShell("gzip -n -c " + testing::ShellQuote(in) + " > " +
                              testing::ShellQuote(out))
                .exit_code,
            0);
  std::string gz = testing::ReadFile(out);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(gz), {ca_der_}, 1u << 20);
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->found[0]);
}

// Real bzImages end their payload (within payload_length) with the size
// trailer; a payload that does not decompress to that size is unreadable.
TEST_F(KernelImageTest, PayloadOfAnotherSizeThanItsTrailerIsRefused) {
  std::string kernel = Kernel(KernelWrap::kBzImageXz);
  const auto le = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
      v = (v << 8) | static_cast<uint8_t>(kernel[at + static_cast<size_t>(i)]);
    }
    return v;
  };
  const size_t sects = static_cast<uint8_t>(kernel[0x1f1]);
  const size_t end = (sects + 1) * 512 + le(0x248) + le(0x24c);
  kernel[end - 4] = static_cast<char>(kernel[end - 4] ^ 1);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {ca_der_}, 256u << 20);
  ASSERT_THAT(scan, StatusIs(ErrorCode::kMalformed, HasSubstr("size trailer")));
}

TEST_F(KernelImageTest, DecompressionIsBounded) {
  std::string kernel = Kernel(KernelWrap::kBzImageGzip);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {other_der_}, 1000);
  ASSERT_FALSE(scan.has_value());
  EXPECT_EQ(scan.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(KernelImageTest, NoBannerNoVersion) {
  std::string blob = testing::Arm64Image("not a kernel " + ca_der_);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(blob), {ca_der_}, 1000);
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->found[0]);
  EXPECT_FALSE(scan->version.has_value());
}

// A CA appended to a raw Image, or inside an Image.gz after the Image, is
// beyond image_size: the booted kernel does not have it. A RISC-V Image
// ("RSC\x05" at 0x38) the same.
TEST_F(KernelImageTest, CaBeyondImageSizeDoesNotCount) {
  std::string arm = Kernel(KernelWrap::kArm64Image);
  std::string riscv = arm;
  riscv.replace(0x38, 4, std::string("RSC\x05", 4));
  for (const std::string& kernel : {arm, riscv}) {
    Result<KernelImageScan> scan = ScanKernelImage(
        ByteSpan(kernel + other_der_), {ca_der_, other_der_}, 256u << 20);
    ASSERT_TRUE(scan.has_value());
    EXPECT_TRUE(scan->found[0]);
    EXPECT_FALSE(scan->found[1]);
  }
  const std::string in = dir_.Sub("appended"), gz = dir_.Sub("appended.gz");
  testing::WriteFile(in, arm + other_der_);
  ASSERT_EQ(testing::RunShell("gzip -n -c " + testing::ShellQuote(in) + " > " +
                              testing::ShellQuote(gz))
                .exit_code,
            0);
  Result<KernelImageScan> scan = ScanKernelImage(
      ByteSpan(testing::ReadFile(gz)), {ca_der_, other_der_}, 256u << 20);
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->found[0]);
  EXPECT_FALSE(scan->found[1]);
}

// image_size 0 (an Image that does not say its size): nothing counts.
TEST_F(KernelImageTest, ImageWithoutImageSizeCountsNothing) {
  std::string kernel = Kernel(KernelWrap::kArm64Image);
  kernel.replace(0x10, 8, std::string(8, '\0'));
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {ca_der_}, 256u << 20);
  ASSERT_TRUE(scan.has_value());
  EXPECT_FALSE(scan->found[0]);
}

// A file of no recognised layout: the CA is not inside a kernel structure.
TEST_F(KernelImageTest, UnrecognisedFileCountsNothing) {
  std::string blob = "Linux version 6.1.0 not a kernel " + ca_der_;
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(blob), {ca_der_}, 1000);
  ASSERT_TRUE(scan.has_value());
  EXPECT_FALSE(scan->found[0]);
}

// A minimal little-endian ELF64 with one PT_LOAD segment over `segment`,
// followed by `after` outside every segment.
std::string Elf64(const std::string& segment, const std::string& after) {
  std::string f(0x40 + 0x38, '\0');
  f.replace(0, 4,
            "\x7f"
            "ELF");
  f[4] = 2;  // ELFCLASS64
  f[5] = 1;  // little-endian
  auto put = [&](size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      f[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
  };
  put(0x20, 0x40, 8);            // e_phoff
  put(0x36, 0x38, 2);            // e_phentsize
  put(0x38, 1, 2);               // e_phnum
  put(0x40, 1, 4);               // PT_LOAD
  put(0x48, f.size(), 8);        // p_offset
  put(0x60, segment.size(), 8);  // p_filesz
  return f + segment + after;
}

// A vmlinux: only its PT_LOAD file ranges are loaded.
TEST_F(KernelImageTest, ElfCountsOnlyLoadedSegments) {
  std::string elf = Elf64("Linux version 6.1.0 x " + ca_der_, other_der_);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(elf), {ca_der_, other_der_}, 1000);
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->found[0]);
  EXPECT_FALSE(scan->found[1]);
  ASSERT_TRUE(scan->version.has_value());
  // A segment reaching past the end of the file: nothing counts.
  std::string broken = elf.substr(0, elf.size() - other_der_.size() - 10);
  scan = ScanKernelImage(ByteSpan(broken), {ca_der_}, 1000);
  ASSERT_TRUE(scan.has_value());
  EXPECT_FALSE(scan->found[0]);
}

// A real kernel: $IMAB_TEST_KERNEL, else this machine's /boot/vmlinuz-*.
// Its banner must be found through its real payload (Debian's cloud
// kernels: a bzImage with an lz4 legacy payload, 53 MB decompressed).
TEST_F(KernelImageTest, RealKernelHasAVersionBanner) {
  const char* given = std::getenv("IMAB_TEST_KERNEL");
  testing::CommandResult found =
      testing::RunShell("ls /boot/vmlinuz-* 2>/dev/null | head -1");
  std::string path = given != nullptr
                         ? std::string(given)
                         : found.out.substr(0, found.out.find('\n'));
  if (path.empty()) {
    GTEST_SKIP() << "no /boot/vmlinuz-* here and IMAB_TEST_KERNEL unset";
  }
  std::string kernel = testing::ReadFile(path);
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {other_der_}, 256u << 20);
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  EXPECT_FALSE(scan->found[0]);
  ASSERT_TRUE(scan->version.has_value()) << path;
  EXPECT_GE(scan->version->first, 2u) << path;
}

// Where a bzImage's payload lies: (setup_sects + 1) * 512 +
// payload_offset, payload_length bytes (the fake kernel has setup_sects).
struct PayloadBounds {
  size_t start = 0;
  size_t length = 0;
};
uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(s[at + static_cast<size_t>(i)]);
  }
  return v;
}
PayloadBounds Payload(const std::string& kernel) {
  const size_t sects = static_cast<uint8_t>(kernel[0x1f1]);
  return {(sects + 1) * 512 + Le32(kernel, 0x248), Le32(kernel, 0x24c)};
}
// `kernel` with its payload replaced by `payload` (payload_length too).
std::string WithPayload(const std::string& kernel, const std::string& payload) {
  const PayloadBounds at = Payload(kernel);
  std::string out = kernel.substr(0, at.start) + payload +
                    kernel.substr(at.start + at.length);
  for (int i = 0; i < 4; ++i) {
    out[0x24c + static_cast<size_t>(i)] =
        static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  }
  return out;
}

// Every compression an x86 bzImage is built with here (the
// arch/x86/boot/compressed/Makefile targets but lzo), each through its own
// decompressor.
class KernelPayloadTest : public KernelImageTest,
                          public ::testing::WithParamInterface<KernelWrap> {};

TEST_P(KernelPayloadTest, FindsTheCaAndVersion) {
  std::string kernel = Kernel(GetParam());
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {ca_der_, other_der_}, 256u << 20);
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  EXPECT_TRUE(scan->found[0]);
  EXPECT_FALSE(scan->found[1]);
  ASSERT_TRUE(scan->version.has_value());
  EXPECT_EQ(scan->version->second, 6u);
}

// A payload cut to a quarter (its size trailer kept where it has one):
// it does not decompress to the size the trailer says; a gzip payload,
// which has no trailer, counts only what it decoded, and the CA lies past
// that.
TEST_P(KernelPayloadTest, TruncatedPayloadIsRefused) {
  std::string kernel = Kernel(GetParam());
  const PayloadBounds at = Payload(kernel);
  const bool gzip = GetParam() == KernelWrap::kBzImageGzip;
  std::string payload = kernel.substr(at.start, at.length);
  std::string cut = payload.substr(0, payload.size() / 4);
  if (!gzip) {
    cut += payload.substr(payload.size() - 4);
  }
  Result<KernelImageScan> scan = ScanKernelImage(
      ByteSpan(WithPayload(kernel, cut)), {ca_der_}, 256u << 20);
  if (gzip) {
    ASSERT_TRUE(scan.has_value()) << scan.error().message;
    EXPECT_FALSE(scan->found[0]);
    return;
  }
  ASSERT_FALSE(scan.has_value());
  EXPECT_EQ(scan.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(scan.error().message, ::testing::HasSubstr("size trailer"));
}

TEST_P(KernelPayloadTest, DecompressionIsBounded) {
  std::string kernel = Kernel(GetParam());
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {ca_der_}, 4096);
  ASSERT_FALSE(scan.has_value());
  EXPECT_EQ(scan.error().code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(scan.error().message,
              ::testing::HasSubstr("decompresses to more than 4096 bytes"));
}

INSTANTIATE_TEST_SUITE_P(
    Wraps, KernelPayloadTest,
    ::testing::Values(KernelWrap::kBzImageGzip, KernelWrap::kBzImageXz,
                      KernelWrap::kBzImageLzma, KernelWrap::kBzImageZstd,
                      KernelWrap::kBzImageLz4, KernelWrap::kBzImageBzip2),
    [](const ::testing::TestParamInfo<KernelWrap>& p) {
      return testing::KernelWrapName(p.param);
    });

// CONFIG_KERNEL_LZO (magic 89 4c): the verifier links no lzo
// decompressor, and says so rather than "decompresses to 0 bytes".
TEST_F(KernelImageTest, LzoPayloadIsRefusedByName) {
  std::string kernel = Kernel(KernelWrap::kBzImageXz);
  const PayloadBounds at = Payload(kernel);
  kernel[at.start] = static_cast<char>(0x89);
  kernel[at.start + 1] = 0x4c;
  Result<KernelImageScan> scan =
      ScanKernelImage(ByteSpan(kernel), {ca_der_}, 256u << 20);
  ASSERT_FALSE(scan.has_value());
  EXPECT_EQ(scan.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(scan.error().message, ::testing::HasSubstr("lzo-compressed"));
}

// An arm64 Image.lz4 as U-Boot boots it (the lz4 frame format), an
// Image.bz2, .zst, .xz: the whole file is the stream, the Image inside it
// counts. xz with CRC32, since the kernel's own xz reader verifies no
// other check (the same decoder reads a bzImage's payload).
TEST_F(KernelImageTest, WholeFileStreamsOfEachFrameFormat) {
  const std::string image = Kernel(KernelWrap::kArm64Image);
  const std::string in = dir_.Sub("Image");
  testing::WriteFile(in, image);
  for (const char* tool :
       {"lz4 -q -9", "bzip2 -9", "zstd -q", "xz --check=crc32"}) {
    SCOPED_TRACE(tool);
    const std::string out = dir_.Sub("Image.z");
    ASSERT_EQ(
        testing::RunShell(std::string(tool) + " < " + testing::ShellQuote(in) +
                          " > " + testing::ShellQuote(out))
            .exit_code,
        0);
    Result<KernelImageScan> scan = ScanKernelImage(
        ByteSpan(testing::ReadFile(out)), {ca_der_, other_der_}, 256u << 20);
    ASSERT_TRUE(scan.has_value()) << scan.error().message;
    EXPECT_TRUE(scan->found[0]);
    EXPECT_FALSE(scan->found[1]);
  }
}

}  // namespace
}  // namespace imab
