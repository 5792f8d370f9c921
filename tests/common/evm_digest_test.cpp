// EVM portable digest: hmac_misc layouts pinned byte by byte (§4.2) and
// digests checked against values computed by the python reference of §4.3.
#include "common/read/evm_digest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/read/hex.h"
#include "common/write/xattr_order.h"
#include "tests/testutil/status_matchers.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using ::testing::HasSubstr;

KernelProfile Profile(const char* name) {
  Result<KernelProfile> p = ParseKernelProfile(name);
  EXPECT_TRUE(p.has_value()) << name;
  return p.has_value() ? *p : KernelProfile{};
}

// The worked example's file: SMACK64 "_", apparmor, an ima value,
// capability, a user xattr (never hashed), uid 1234, gid 5678, 0104750.
Entry ExampleEntry() {
  Entry e;
  e.path = "usr/bin/tool";
  e.type = EntryType::kFile;
  e.mode = 04750;
  e.uid = 1234;
  e.gid = 5678;
  std::string ima = "\x04\x04" + std::string(32, '\x22');
  std::string cap = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8) +
                    std::string(12, '\0');
  e.xattrs = {{"security.SMACK64", "_"},
              {"security.apparmor", "unconfined"},
              {"security.capability", cap},
              {"security.ima", ima},
              {"user.comment", "not hashed"}};
  SortXattrs(e.xattrs);
  return e;
}

std::string DigestHex(const Entry& e, const KernelProfile& p, HashAlgo a) {
  Result<std::vector<uint8_t>> d = EvmPortableDigest(e, p, a);
  EXPECT_TRUE(d.has_value()) << d.error().message;
  return d.has_value() ? HexEncode(*d) : "";
}

TEST(EvmDigestTest, HmacMiscLe64WorkedExample) {
  EXPECT_EQ(HexEncode(EvmHmacMisc(1234, 5678, 0104750, Profile("le64"))),
            "000000000000000000000000d20400002e160000e8890000");
}

TEST(EvmDigestTest, HmacMiscLe32Is20Bytes) {
  std::vector<uint8_t> misc = EvmHmacMisc(1234, 5678, 0104750, Profile("le32"));
  EXPECT_EQ(misc.size(), 20u);
  EXPECT_EQ(HexEncode(misc), "0000000000000000d20400002e160000e8890000");
}

TEST(EvmDigestTest, HmacMiscBigEndian) {
  EXPECT_EQ(HexEncode(EvmHmacMisc(1234, 5678, 0104750, Profile("be64"))),
            "000000000000000000000000000004d20000162e89e80000");
  EXPECT_EQ(HexEncode(EvmHmacMisc(1234, 5678, 0104750, Profile("be32"))),
            "00000000000000000000"
            "04d20000162e89e80000");
}

TEST(EvmDigestTest, HmacMiscFullWidthIds) {
  EXPECT_EQ(
      HexEncode(EvmHmacMisc(0xfffffffe, 0x80000001, 0xffff, Profile("le64"))),
      "000000000000000000000000feffffff01000080ffff0000");
}

TEST(EvmDigestTest, PortableDigestMatchesReference) {
  const Entry e = ExampleEntry();
  EXPECT_EQ(DigestHex(e, Profile("le64"), HashAlgo::kSha256),
            "a52e0e0f4474f6a101700a6819ffd5cc34dddee93f7d270e69929d04ecad697e");
  EXPECT_EQ(DigestHex(e, Profile("le32"), HashAlgo::kSha256),
            "d7a72a2f05147d9c0c654e3942b3c4cb940891894250396ec67c65486cd0151b");
  EXPECT_EQ(DigestHex(e, Profile("be64"), HashAlgo::kSha256),
            "d3a38d01211fd51ce1cffe5c1a18ae7a0532215498cbebe9501ddc9b0ddced2d");
  EXPECT_EQ(DigestHex(e, Profile("le64"), HashAlgo::kSha512),
            "50ccc7c644d024a1bd13c8c8430eacba4f7f8d1c680c590e7964bd4c0752d017"
            "461c98eeebe9b5b141363834caffeb6cddd64530211a76d31187be7362aad772");
  EXPECT_EQ(DigestHex(e, Profile("le32"), HashAlgo::kSha512),
            "047d545e35420ecbb977b19e9be2764049fc769301b78f4e8a7858fb7b474dc3"
            "6e3e66cd970732da99866eea9d6cf77c1824ebb9dd8da7ce7721f8e678c7f3cd");
}

TEST(EvmDigestTest, DigestSizes) {
  const Entry e = ExampleEntry();
  for (HashAlgo algo : {HashAlgo::kSha1, HashAlgo::kSha256, HashAlgo::kSha384,
                        HashAlgo::kSha512}) {
    Result<std::vector<uint8_t>> d =
        EvmPortableDigest(e, KernelProfile{}, algo);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->size(), HashAlgoDigestSize(algo));
  }
}

TEST(EvmDigestTest, SubsetListAndDirectoryMode) {
  // A pre-5.14 kernel without LSM labels: SMACK64/apparmor are not hashed.
  Entry e = ExampleEntry();
  e.type = EntryType::kDir;
  e.mode = 0755;
  e.uid = 0;
  e.gid = 0;
  EXPECT_EQ(DigestHex(e, Profile("le64:security.ima,security.capability"),
                      HashAlgo::kSha256),
            "7744d9813f49b0d06ec814847439301707fcf6cc928f409f97917fe38c4bb56f");
}

TEST(EvmDigestTest, SymlinkWithoutXattrsHashesOnlyMisc) {
  Entry e;
  e.path = "lib/link";
  e.type = EntryType::kSymlink;
  e.mode = 0777;
  e.uid = 7;
  e.gid = 8;
  EXPECT_EQ(DigestHex(e, KernelProfile{}, HashAlgo::kSha256),
            "a35c0f66cf9b33ea7ce3c7ec1178f11bc8399059a875f0ec6db43a90a6591fbd");
}

TEST(EvmDigestTest, EveryHashedInputMatters) {
  const Entry base = ExampleEntry();
  const std::string want = DigestHex(base, KernelProfile{}, HashAlgo::kSha256);
  Entry e = base;
  e.uid = 1235;
  EXPECT_NE(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
  e = base;
  e.gid = 0;
  EXPECT_NE(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
  e = base;
  e.mode = 0750;  // setuid bit dropped
  EXPECT_NE(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
  e = base;
  e.xattrs[0].value = "*";  // security.SMACK64
  EXPECT_NE(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
  // A non-security xattr is not hashed.
  e = base;
  e.xattrs.back().value = "changed";
  EXPECT_EQ(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
  // Mode bits above 07777 in Entry::mode are not part of i_mode.
  e = base;
  e.mode = 0104750;
  EXPECT_EQ(DigestHex(e, KernelProfile{}, HashAlgo::kSha256), want);
}

TEST(EvmDigestTest, RejectsTypesWithoutMode) {
  for (EntryType type : {EntryType::kHardlink, EntryType::kChar,
                         EntryType::kBlock, EntryType::kFifo}) {
    Entry e = ExampleEntry();
    e.type = type;
    Result<std::vector<uint8_t>> d =
        EvmPortableDigest(e, KernelProfile{}, HashAlgo::kSha256);
    ASSERT_THAT(d, StatusIs(ErrorCode::kInvalidArgument,
                            HasSubstr("no EVM digest for entry type")));
  }
}

TEST(EvmDigestTest, RejectsBadWordSize) {
  KernelProfile p;
  p.word_bits = 16;
  Result<std::vector<uint8_t>> d =
      EvmPortableDigest(ExampleEntry(), p, HashAlgo::kSha256);
  ASSERT_THAT(d,
              StatusIs(ErrorCode::kInvalidArgument, HasSubstr("word size 16")));
}

}  // namespace
}  // namespace imab
