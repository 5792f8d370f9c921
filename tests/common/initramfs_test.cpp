#include "common/read/initramfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/write/cpio_writer.h"
#include "common/write/initramfs_rewrite.h"
#include "tests/testutil/bytes.h"
#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tree_compare.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using imab::testing::ToBytes;
using imab::testing::ToString;

namespace fs = std::filesystem;
using ::imab::testing::CompareTrees;
using ::imab::testing::ReadFile;
using ::imab::testing::RunShell;
using ::imab::testing::ShellQuote;
using ::imab::testing::TempDir;
using ::imab::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kOldCert = "old-evm-certificate";
const std::string kNewCert = std::string("new-evm-cert\0\x30\x82", 15);
const std::string kImaCert = "separate-ima-certificate";

enum class Keys { kNone, kEvmOnly, kImaSymlink, kImaFile };

// A small initramfs tree under `root`.
void MakeTree(const fs::path& root, Keys keys) {
  fs::create_directories(root / "bin");
  fs::create_directories(root / "lib/modules");
  WriteFile(root / "init", "#!/bin/sh\nexec /bin/sh\n");
  fs::permissions(root / "init", fs::perms(0755));
  WriteFile(root / "bin/busybox", std::string(100000, 'b'));
  fs::create_symlink("busybox", root / "bin/sh");
  WriteFile(root / "lib/modules/empty", "");
  if (keys == Keys::kNone) {
    return;
  }
  fs::create_directories(root / "etc/keys");
  WriteFile(root / "etc/keys/x509_evm.der", kOldCert);
  if (keys == Keys::kImaSymlink) {
    fs::create_symlink("x509_evm.der", root / "etc/keys/x509_ima.der");
  }
  if (keys == Keys::kImaFile) {
    WriteFile(root / "etc/keys/x509_ima.der", "old-ima");
  }
}

std::string CompressCommand(InitramfsCompression c) {
  switch (c) {
    case InitramfsCompression::kNone:
      return "cat";
    case InitramfsCompression::kGzip:
      return "gzip -n -9 -c";
    case InitramfsCompression::kXz:
      return "xz -c --check=crc32 --lzma2=dict=1MiB";
    case InitramfsCompression::kZstd:
      return "zstd -q -c";
  }
  return "false";
}

std::string DecompressCommand(InitramfsCompression c) {
  switch (c) {
    case InitramfsCompression::kNone:
      return "cat";
    case InitramfsCompression::kGzip:
      return "gzip -dc";
    case InitramfsCompression::kXz:
      return "xz -dc";
    case InitramfsCompression::kZstd:
      return "zstd -dqc";
  }
  return "false";
}

// `cpio -o -H newc` of `root`, then compressed by the real tool.
std::vector<uint8_t> Pack(const TempDir& dir, const fs::path& root,
                          InitramfsCompression c,
                          const std::string& find_arg = ".") {
  std::string out = dir.Sub("packed.img");
  auto r = RunShell("cd " + ShellQuote(root.string()) + " && find " + find_arg +
                    " | LC_ALL=C sort | cpio -o --quiet -H newc | " +
                    CompressCommand(c) + " > " + ShellQuote(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ToBytes(ReadFile(out));
}

// Extracts `image` (one segment) with the tool and GNU cpio -idm into `to`.
void Unpack(const TempDir& dir, const std::vector<uint8_t>& image,
            InitramfsCompression c, const fs::path& to) {
  std::string in = dir.Sub("unpack.img");
  WriteFile(in, ToString(image));
  fs::create_directories(to);
  auto r =
      RunShell("cd " + ShellQuote(to.string()) + " && " + DecompressCommand(c) +
               " < " + ShellQuote(in) + " | cpio -idm --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

class InitramfsFormatTest
    : public ::testing::TestWithParam<InitramfsCompression> {};

TEST_P(InitramfsFormatTest, ReadsKeys) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kImaSymlink);
  auto keys = ReadInitramfsKeys(Pack(dir, dir.path() / "tree", GetParam()));
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(keys->compression, GetParam());
  ASSERT_TRUE(keys->evm_der.has_value());
  EXPECT_EQ(ToString(*keys->evm_der), kOldCert);
  ASSERT_TRUE(keys->ima_der.has_value());  // through the symlink
  EXPECT_EQ(ToString(*keys->ima_der), kOldCert);
}

TEST_P(InitramfsFormatTest, SetKeysKeepsEverythingElse) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kEvmOnly);
  std::vector<uint8_t> image = Pack(dir, dir.path() / "tree", GetParam());
  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  Unpack(dir, *out, GetParam(), dir.path() / "got");
  // The expected tree: the input with only the certificate changed.
  WriteFile(dir.path() / "tree/etc/keys/x509_evm.der", kNewCert);
  EXPECT_THAT(CompareTrees(dir.Sub("tree"), dir.Sub("got")), IsEmpty());
  EXPECT_EQ(ReadFile(dir.path() / "got/etc/keys/x509_evm.der"), kNewCert);
  EXPECT_FALSE(fs::exists(dir.path() / "got/etc/keys/x509_ima.der"));

  auto keys = ReadInitramfsKeys(*out);
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(keys->compression, GetParam());
  EXPECT_EQ(ToString(keys->evm_der.value()), kNewCert);
  EXPECT_FALSE(keys->ima_der.has_value());

  auto again = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *out) << "not deterministic";
}

TEST_P(InitramfsFormatTest, UnmodifiedCpioRoundTrips) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kImaSymlink);
  std::vector<uint8_t> image = Pack(dir, dir.path() / "tree", GetParam());
  auto segments = ParseInitramfs(image);
  ASSERT_TRUE(segments.has_value()) << segments.error().message;
  ASSERT_EQ(segments->size(), 1u);
  EXPECT_EQ((*segments)[0].original, image);
  std::string plain = RunShell(DecompressCommand(GetParam()) + " < " +
                               ShellQuote(dir.Sub("packed.img")))
                          .out;
  auto written = WriteCpioStream((*segments)[0].archives);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(ToString(*written), plain);
}

TEST_P(InitramfsFormatTest, ImaSymlinkStaysSymlink) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kImaSymlink);
  std::vector<uint8_t> image = Pack(dir, dir.path() / "tree", GetParam());
  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  Unpack(dir, *out, GetParam(), dir.path() / "got");
  fs::path ima = dir.path() / "got/etc/keys/x509_ima.der";
  ASSERT_TRUE(fs::is_symlink(ima));
  EXPECT_EQ(fs::read_symlink(ima), "x509_evm.der");
  auto keys = ReadInitramfsKeys(*out);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(ToString(keys->ima_der.value()), kNewCert);
  // A different IMA certificate cannot be set through the symlink.
  auto refused = SetInitramfsKeys(image, ToBytes(kNewCert), ToBytes(kImaCert));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(InitramfsFormatTest, ImaFileGetsImaCert) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kImaFile);
  std::vector<uint8_t> image = Pack(dir, dir.path() / "tree", GetParam());
  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), ToBytes(kImaCert));
  ASSERT_TRUE(out.has_value()) << out.error().message;
  Unpack(dir, *out, GetParam(), dir.path() / "got");
  EXPECT_EQ(ReadFile(dir.path() / "got/etc/keys/x509_ima.der"), kImaCert);
  // Without an IMA certificate the EVM one is used.
  auto same = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(same.has_value());
  auto keys = ReadInitramfsKeys(*same);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(ToString(keys->ima_der.value()), kNewCert);
}

TEST_P(InitramfsFormatTest, MissingKeysDirectoryIsCreated) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kNone);
  std::vector<uint8_t> image = Pack(dir, dir.path() / "tree", GetParam());
  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  Unpack(dir, *out, GetParam(), dir.path() / "got");
  fs::create_directories(dir.path() / "tree/etc/keys");
  fs::permissions(dir.path() / "tree/etc", fs::perms(0755));
  fs::permissions(dir.path() / "tree/etc/keys", fs::perms(0755));
  WriteFile(dir.path() / "tree/etc/keys/x509_evm.der", kNewCert);
  fs::permissions(dir.path() / "tree/etc/keys/x509_evm.der", fs::perms(0644));
  EXPECT_THAT(CompareTrees(dir.Sub("tree"), dir.Sub("got")), IsEmpty());
  auto segments = ParseInitramfs(*out);
  ASSERT_TRUE(segments.has_value());
  const auto& members = segments->back().archives.back().members;
  EXPECT_EQ(members.back().name, "etc/keys/x509_evm.der");
  EXPECT_EQ(members.back().uid, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    All, InitramfsFormatTest,
    ::testing::Values(InitramfsCompression::kNone, InitramfsCompression::kGzip,
                      InitramfsCompression::kZstd, InitramfsCompression::kXz),
    [](const ::testing::TestParamInfo<InitramfsCompression>& p) {
      return std::string(InitramfsCompressionName(p.param));
    });

TEST(InitramfsTest, NamesWithoutDotSlash) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kImaSymlink);
  std::vector<uint8_t> image =
      Pack(dir, dir.path() / "tree", InitramfsCompression::kNone, "*");
  auto keys = ReadInitramfsKeys(image);
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(ToString(keys->evm_der.value()), kOldCert);
  EXPECT_EQ(ToString(keys->ima_der.value()), kOldCert);
}

TEST(InitramfsTest, DotSlashNamesAreMatchedAndFollowed) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kNone);
  auto segments = ParseInitramfs(
      Pack(dir, dir.path() / "tree", InitramfsCompression::kNone));
  ASSERT_TRUE(segments.has_value());
  CpioArchive& a = (*segments)[0].archives[0];
  for (CpioMember& m : a.members) {
    m.name = m.name == "." ? m.name : "./" + m.name;
  }
  CpioMember cert = a.members.back();
  cert.name = "./etc/keys/x509_ima.der";
  cert.mode = S_IFLNK | 0777;
  cert.data = ToBytes("/etc/keys/x509_evm.der");
  a.members.push_back(cert);
  auto image = WriteCpioStream((*segments)[0].archives);
  ASSERT_TRUE(image.has_value());
  auto out = SetInitramfsKeys(*image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  auto parsed = ParseInitramfs(*out);
  ASSERT_TRUE(parsed.has_value());
  const auto& members = (*parsed)[0].archives[0].members;
  ASSERT_GE(members.size(), 3u);
  EXPECT_EQ(members[members.size() - 3].name, "./etc");
  EXPECT_EQ(members[members.size() - 2].name, "./etc/keys");
  EXPECT_EQ(members.back().name, "./etc/keys/x509_evm.der");
  auto keys = ReadInitramfsKeys(*out);
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(ToString(keys->ima_der.value()), kNewCert);  // absolute symlink
}

TEST(InitramfsTest, GzipHeaderHasNoTimestampAndXzUsesCrc32) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kEvmOnly);
  auto gz = SetInitramfsKeys(
      Pack(dir, dir.path() / "tree", InitramfsCompression::kGzip),
      ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(gz.has_value());
  ASSERT_GT(gz->size(), 10u);
  EXPECT_EQ((*gz)[3] & 0x08, 0) << "FNAME set";
  EXPECT_EQ((*gz)[4] | (*gz)[5] | (*gz)[6] | (*gz)[7], 0) << "mtime set";
  auto xz = SetInitramfsKeys(
      Pack(dir, dir.path() / "tree", InitramfsCompression::kXz),
      ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(xz.has_value());
  EXPECT_EQ((*xz)[7], 0x01) << "xz check is not CRC32";
  WriteFile(dir.path() / "new.xz", ToString(*xz));
  auto r = RunShell("xz -lvv " + ShellQuote(dir.Sub("new.xz")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("CRC32"));
}

TEST(InitramfsTest, MicrocodeSegmentKeptVerbatim) {
  TempDir dir;
  fs::create_directories(dir.path() / "early/kernel/x86/microcode");
  WriteFile(dir.path() / "early/kernel/x86/microcode/GenuineIntel.bin",
            std::string(3000, '\x5a'));
  MakeTree(dir.path() / "main", Keys::kEvmOnly);
  std::vector<uint8_t> early =
      Pack(dir, dir.path() / "early", InitramfsCompression::kNone);
  std::vector<uint8_t> main =
      Pack(dir, dir.path() / "main", InitramfsCompression::kGzip);
  std::vector<uint8_t> image = early;
  image.insert(image.end(), main.begin(), main.end());

  auto segments = ParseInitramfs(image);
  ASSERT_TRUE(segments.has_value()) << segments.error().message;
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_EQ((*segments)[0].original, early);
  EXPECT_EQ((*segments)[1].compression, InitramfsCompression::kGzip);

  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  ASSERT_GT(out->size(), early.size());
  EXPECT_TRUE(std::equal(early.begin(), early.end(), out->begin()));
  std::vector<uint8_t> rest(
      out->begin() + static_cast<std::ptrdiff_t>(early.size()), out->end());
  Unpack(dir, rest, InitramfsCompression::kGzip, dir.path() / "got");
  WriteFile(dir.path() / "main/etc/keys/x509_evm.der", kNewCert);
  EXPECT_THAT(CompareTrees(dir.Sub("main"), dir.Sub("got")), IsEmpty());
  auto keys = ReadInitramfsKeys(*out);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(ToString(keys->evm_der.value()), kNewCert);
  EXPECT_EQ(keys->compression, InitramfsCompression::kGzip);
}

// ---- Segments after a compressed stream (the kernel reads on) ----

const std::string kForeignCert = "foreign-evm-certificate";

// A tree whose only content is etc/keys/x509_evm.der = `cert`.
fs::path KeyTree(const TempDir& dir, const std::string& name,
                 const std::string& cert) {
  fs::path root = dir.path() / name;
  fs::create_directories(root / "etc/keys");
  WriteFile(root / "etc/keys/x509_evm.der", cert);
  return root;
}

std::vector<uint8_t> Concat(std::vector<uint8_t> a,
                            const std::vector<uint8_t>& b, size_t zeros = 0) {
  a.insert(a.end(), zeros, uint8_t{0});
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The reviewer's attack: the declared key in a gzip stream, a foreign one
// in whatever follows it; the kernel extracts both and keeps the later.
TEST(InitramfsSegmentsTest, LaterSegmentAfterCompressedStreamWins) {
  struct Case {
    InitramfsCompression first, second;
    size_t zeros;
  };
  using C = InitramfsCompression;
  for (const Case& c :
       {Case{C::kGzip, C::kNone, 0}, Case{C::kGzip, C::kNone, 512},
        Case{C::kGzip, C::kXz, 0}, Case{C::kGzip, C::kGzip, 4},
        Case{C::kXz, C::kNone, 4}, Case{C::kZstd, C::kGzip, 0},
        Case{C::kZstd, C::kNone, 8}}) {
    SCOPED_TRACE(std::string(InitramfsCompressionName(c.first)) + "+" +
                 std::to_string(c.zeros) + "+" +
                 InitramfsCompressionName(c.second));
    TempDir dir;
    std::vector<uint8_t> a = Pack(dir, KeyTree(dir, "a", kOldCert), c.first);
    std::vector<uint8_t> b =
        Pack(dir, KeyTree(dir, "b", kForeignCert), c.second);
    // Keep a following cpio 4-aligned, as the kernel requires.
    size_t zeros = c.zeros;
    if (c.second == C::kNone) {
      zeros += (4 - (a.size() + zeros) % 4) % 4;
    }
    std::vector<uint8_t> image = Concat(a, b, zeros);
    auto segments = ParseInitramfs(image);
    ASSERT_TRUE(segments.has_value()) << segments.error().message;
    ASSERT_EQ(segments->size(), 2u);
    EXPECT_EQ((*segments)[1].offset, a.size() + zeros);
    EXPECT_EQ((*segments)[0].original.size(), a.size() + zeros);
    auto keys = ReadInitramfsKeys(image);
    ASSERT_TRUE(keys.has_value()) << keys.error().message;
    EXPECT_EQ(ToString(keys->evm_der.value()), kForeignCert);
    // Two segments with keys: the builder will not guess which to edit.
    auto rewritten = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
    ASSERT_THAT(
        rewritten,
        StatusIs(ErrorCode::kInvalidArgument,
                 HasSubstr("etc/keys certificates in the segment at offset 0 "
                           "and again in the segment at offset " +
                           std::to_string(a.size() + zeros))));
  }
}

// xz and zstd streams padded with zeros, as the kernel accepts them.
TEST(InitramfsSegmentsTest, ZeroPaddingAfterAStreamIsAccepted) {
  for (InitramfsCompression c :
       {InitramfsCompression::kXz, InitramfsCompression::kZstd,
        InitramfsCompression::kGzip}) {
    SCOPED_TRACE(InitramfsCompressionName(c));
    TempDir dir;
    MakeTree(dir.path() / "main", Keys::kEvmOnly);
    std::vector<uint8_t> image = Pack(dir, dir.path() / "main", c);
    image.insert(image.end(), 509, uint8_t{0});
    auto keys = ReadInitramfsKeys(image);
    ASSERT_TRUE(keys.has_value()) << keys.error().message;
    EXPECT_EQ(ToString(keys->evm_der.value()), kOldCert);
    auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    EXPECT_EQ(ToString(ReadInitramfsKeys(*out)->evm_der.value()), kNewCert);
  }
}

// Keys in the compressed stream, a plain cpio without keys after it: the
// stream is re-encoded, and the cpio after it stays 4-aligned and intact.
TEST(InitramfsSegmentsTest, RewriteKeepsAFollowingCpioAligned) {
  TempDir dir;
  MakeTree(dir.path() / "main", Keys::kEvmOnly);
  fs::create_directories(dir.path() / "extra");
  WriteFile(dir.path() / "extra/late-file", "late");
  std::vector<uint8_t> a =
      Pack(dir, dir.path() / "main", InitramfsCompression::kGzip);
  std::vector<uint8_t> b =
      Pack(dir, dir.path() / "extra", InitramfsCompression::kNone);
  std::vector<uint8_t> image = Concat(a, b, (4 - a.size() % 4) % 4);
  auto out = SetInitramfsKeys(image, ToBytes(kNewCert), std::nullopt);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  auto segments = ParseInitramfs(*out);
  ASSERT_TRUE(segments.has_value()) << segments.error().message;
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_EQ((*segments)[1].original, b);
  EXPECT_EQ(ToString(ReadInitramfsKeys(*out)->evm_der.value()), kNewCert);
}

TEST(InitramfsSegmentsTest, UnalignedCpioAfterAStreamIsRefused) {
  TempDir dir;
  std::vector<uint8_t> a =
      Pack(dir, KeyTree(dir, "a", kOldCert), InitramfsCompression::kGzip);
  std::vector<uint8_t> b =
      Pack(dir, KeyTree(dir, "b", kForeignCert), InitramfsCompression::kNone);
  size_t zeros = (4 - a.size() % 4) % 4 + 1;  // one past alignment
  auto r = ParseInitramfs(Concat(a, b, zeros));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("initramfs: cpio archive not 4-aligned at offset " +
                        std::to_string(a.size() + zeros)));
}

// lib/decompress_inflate.c skips FNAME only; other optional fields would
// be misread by the kernel, so such a member is refused.
TEST(InitramfsSegmentsTest, GzipHeaderFieldsTheKernelCannotSkipAreRefused) {
  TempDir dir;
  std::vector<uint8_t> gz =
      Pack(dir, KeyTree(dir, "a", kOldCert), InitramfsCompression::kGzip);
  gz[3] |= 0x10;  // FCOMMENT
  auto r = ParseInitramfs(gz);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("corrupt gzip stream: header flags the kernel cannot "
                        "skip"));
}

// lib/xz in Linux 6.1 is built without XZ_DEC_ANY_CHECK: a CRC64 or
// SHA-256 check is XZ_OPTIONS_ERROR, so the kernel would unpack nothing.
TEST(InitramfsSegmentsTest, XzChecksTheKernelCannotVerifyAreRefused) {
  TempDir dir;
  fs::path tree = KeyTree(dir, "a", kOldCert);
  std::string out = dir.Sub("crc64.img");
  ASSERT_EQ(RunShell("cd " + ShellQuote(tree.string()) +
                     " && find . | cpio -o --quiet -H newc | xz -c "
                     "--check=crc64 > " +
                     ShellQuote(out))
                .exit_code,
            0);
  auto r = ParseInitramfs(ToBytes(ReadFile(out)));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("initramfs: corrupt xz stream: integrity check other "
                        "than none or CRC32"));
}

// Each stream ends exactly where its own trailer says: a damaged gzip
// trailer or a cut zstd frame is refused, not read past.
TEST(InitramfsSegmentsTest, DamagedStreamEndsAreRefused) {
  TempDir dir;
  fs::path tree = KeyTree(dir, "a", kOldCert);
  std::vector<uint8_t> gz = Pack(dir, tree, InitramfsCompression::kGzip);
  gz[gz.size() - 8] ^= 0x01;  // CRC32 of the trailer
  auto bad_crc = ParseInitramfs(gz);
  ASSERT_FALSE(bad_crc.has_value());
  EXPECT_THAT(bad_crc.error().message,
              HasSubstr("CRC32 or size in the trailer does not match"));
  std::vector<uint8_t> zst = Pack(dir, tree, InitramfsCompression::kZstd);
  zst.resize(zst.size() - 3);
  auto cut = ParseInitramfs(zst);
  ASSERT_FALSE(cut.has_value());
  EXPECT_THAT(cut.error().message, HasSubstr("initramfs: corrupt zstd stream"));
}

TEST(InitramfsTest, RefusesBadCertificates) {
  TempDir dir;
  MakeTree(dir.path() / "tree", Keys::kEvmOnly);
  std::vector<uint8_t> image =
      Pack(dir, dir.path() / "tree", InitramfsCompression::kNone);
  auto empty = SetInitramfsKeys(image, {}, std::nullopt);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  std::vector<uint8_t> huge(kMaxCertificateBytes + 1, 1);
  EXPECT_EQ(SetInitramfsKeys(image, huge, std::nullopt).error().code,
            ErrorCode::kInvalidArgument);
}

// ---- Malformed images ----

class InitramfsMalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeTree(dir_.path() / "tree", Keys::kEvmOnly);
    plain_ = Pack(dir_, dir_.path() / "tree", InitramfsCompression::kNone);
  }

  Error ReadError(const std::vector<uint8_t>& image,
                  const InitramfsLimits& limits = {}) {
    auto r = ReadInitramfsKeys(image, limits);
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? Error{ErrorCode::kInternal, "parsed"} : r.error();
  }

  std::vector<uint8_t> Gzip(const std::vector<uint8_t>& bytes) {
    WriteFile(dir_.path() / "raw", ToString(bytes));
    return ToBytes(RunShell("gzip -n -c < " + ShellQuote(dir_.Sub("raw"))).out);
  }

  TempDir dir_;
  std::vector<uint8_t> plain_;
};

TEST_F(InitramfsMalformedTest, UnknownCompression) {
  Error e = ReadError(ToBytes("BZh91AY&SY garbage"));
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("initramfs: unknown compression"));
  EXPECT_EQ(ReadError({}).code, ErrorCode::kMalformed);
}

TEST_F(InitramfsMalformedTest, GarbageAfterGzipMagic) {
  std::vector<uint8_t> bad = {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef,
                              0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05};
  Error e = ReadError(bad);
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("initramfs:"));
}

TEST_F(InitramfsMalformedTest, TruncatedGzip) {
  std::vector<uint8_t> gz = Gzip(plain_);
  gz.resize(gz.size() / 2);
  EXPECT_EQ(ReadError(gz).code, ErrorCode::kMalformed);
}

TEST_F(InitramfsMalformedTest, GzipOfNonCpio) {
  Error e = ReadError(Gzip(ToBytes("hello, this is not a cpio archive")));
  EXPECT_THAT(e.message, HasSubstr("initramfs: not a newc cpio"));
}

TEST_F(InitramfsMalformedTest, OdcArchive) {
  auto r = RunShell("cd " + ShellQuote(dir_.Sub("tree")) +
                    " && find . | cpio -o --quiet -H odc");
  ASSERT_EQ(r.exit_code, 0);
  Error e = ReadError(ToBytes(r.out));
  EXPECT_THAT(e.message, HasSubstr("not a newc cpio (magic 070707)"));
}

TEST_F(InitramfsMalformedTest, TruncatedMember) {
  // Cut inside the data of bin/busybox (100000 bytes).
  std::vector<uint8_t> cut(plain_.begin(), plain_.begin() + 50000);
  Error e = ReadError(cut);
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("truncated member 'bin/busybox'"));
  Error in_gzip = ReadError(Gzip(cut));
  EXPECT_THAT(in_gzip.message,
              HasSubstr("initramfs: truncated member 'bin/busybox'"));
}

TEST_F(InitramfsMalformedTest, MissingTrailer) {
  std::string text = ToString(plain_);
  size_t trailer = text.find("TRAILER!!!");
  ASSERT_NE(trailer, std::string::npos);
  std::vector<uint8_t> cut(
      plain_.begin(),
      plain_.begin() + static_cast<std::ptrdiff_t>(trailer - 110));
  Error e = ReadError(Gzip(cut));
  EXPECT_THAT(e.message, HasSubstr("initramfs: no TRAILER!!!"));
}

TEST_F(InitramfsMalformedTest, BadHexDigit) {
  plain_[20] = 'z';
  EXPECT_THAT(ReadError(plain_).message, HasSubstr("bad hex digit"));
}

TEST_F(InitramfsMalformedTest, DecompressionBomb) {
  std::vector<uint8_t> gz = Gzip(plain_);
  InitramfsLimits limits;
  limits.max_decompressed_bytes = 64 * 1024;
  Error e = ReadError(gz, limits);
  EXPECT_EQ(e.code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(e.message, HasSubstr("decompresses to more than 65536"));
  // A real bomb: 300 MiB of zeros against the default 256 MiB bound.
  auto r = RunShell("head -c 314572800 /dev/zero | gzip -1 -c");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(ReadError(ToBytes(r.out)).code, ErrorCode::kLimitExceeded);
}

TEST_F(InitramfsMalformedTest, ImageAndMemberLimits) {
  InitramfsLimits small_image;
  small_image.max_image_bytes = 1000;
  EXPECT_EQ(ReadError(plain_, small_image).code, ErrorCode::kLimitExceeded);
  InitramfsLimits few_members;
  few_members.cpio.max_members = 3;
  EXPECT_EQ(ReadError(plain_, few_members).code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(ReadError(Gzip(plain_), few_members).code,
            ErrorCode::kLimitExceeded);
}

TEST_F(InitramfsMalformedTest, JunkAfterUncompressedArchive) {
  std::vector<uint8_t> image = plain_;
  image.push_back(0x42);
  EXPECT_THAT(ReadError(image).message,
              HasSubstr("initramfs: unknown compression"));
}

}  // namespace
}  // namespace imab
