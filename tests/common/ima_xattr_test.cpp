// security.ima / security.evm codec: golden bytes built by hand from the
// header layout (ima-evm-formats.md §1.3, §2.1) and one test per rejection.
#include "common/read/ima_xattr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/write/ima_xattr_writer.h"
#include "tests/testutil/status_matchers.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) {
    out.push_back(static_cast<char>(b));
  }
  return out;
}

// A well-formed 0x03 value: sha256, keyid d71aea5e, 3 signature bytes.
std::string GoodSig() {
  return Bytes(
      {0x03, 0x02, 0x04, 0xd7, 0x1a, 0xea, 0x5e, 0x00, 0x03, 0xaa, 0xbb, 0xcc});
}

void ExpectMalformed(const Result<SignatureV2>& r, const std::string& what) {
  ASSERT_THAT(r, StatusIs(ErrorCode::kMalformed, HasSubstr(what)));
}

void ExpectMalformed(const Result<ImaXattr>& r, const std::string& what) {
  ASSERT_THAT(r, StatusIs(ErrorCode::kMalformed, HasSubstr(what)));
}

TEST(ImaXattrTest, EncodeSignatureV2GoldenLayout) {
  const std::vector<uint8_t> sig = {0xaa, 0xbb, 0xcc};
  EXPECT_EQ(
      EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha256, 0xd71aea5e, sig),
      GoodSig());
  // Portable EVM, sha512, 256-byte signature: sig_size 0x0100 big-endian.
  std::vector<uint8_t> big(256, 0x5a);
  std::string value = EncodeSignatureV2(XattrType::kEvmPortableDigsig,
                                        HashAlgo::kSha512, 0x01020304, big);
  ASSERT_EQ(value.size(), 265u);
  EXPECT_EQ(value.substr(0, 9),
            Bytes({0x05, 0x02, 0x06, 0x01, 0x02, 0x03, 0x04, 0x01, 0x00}));
  EXPECT_EQ(value.substr(9), std::string(256, 0x5a));
  // sha384 algo byte.
  EXPECT_EQ(static_cast<uint8_t>(EncodeSignatureV2(
                XattrType::kDigsig, HashAlgo::kSha384, 0, sig)[2]),
            0x05);
}

TEST(ImaXattrTest, ParseSignatureV2RoundTrip) {
  Result<SignatureV2> r = ParseSignatureV2(GoodSig(), XattrType::kDigsig);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->type, XattrType::kDigsig);
  EXPECT_EQ(r->algo, HashAlgo::kSha256);
  EXPECT_EQ(r->keyid, 0xd71aea5eu);
  EXPECT_EQ(r->signature, (std::vector<uint8_t>{0xaa, 0xbb, 0xcc}));

  std::vector<uint8_t> blob(72, 0x30);
  for (HashAlgo algo :
       {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
    std::string v = EncodeSignatureV2(XattrType::kEvmPortableDigsig, algo,
                                      0xffffffff, blob);
    Result<SignatureV2> p = ParseSignatureV2(v, XattrType::kEvmPortableDigsig);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    EXPECT_EQ(p->algo, algo);
    EXPECT_EQ(p->keyid, 0xffffffffu);
    EXPECT_EQ(p->signature, blob);
  }
}

TEST(ImaXattrTest, RejectsEmpty) {
  ExpectMalformed(ParseSignatureV2("", XattrType::kDigsig), "empty");
}

TEST(ImaXattrTest, RejectsHeaderOnly) {
  // Exactly 9 bytes: the kernel requires length > 9.
  ExpectMalformed(ParseSignatureV2(GoodSig().substr(0, 9), XattrType::kDigsig),
                  "truncated");
}

TEST(ImaXattrTest, RejectsTruncatedHeader) {
  ExpectMalformed(ParseSignatureV2(GoodSig().substr(0, 5), XattrType::kDigsig),
                  "truncated");
}

TEST(ImaXattrTest, RejectsSigSizeLargerThanData) {
  std::string v = GoodSig();
  v[8] = 0x04;  // claims 4 bytes, 3 follow
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "sig_size 4 but 3 bytes follow");
  v[7] = 0x01;  // 0x0104
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "sig_size 260 but 3 bytes follow");
}

TEST(ImaXattrTest, RejectsTrailingBytes) {
  std::string v = GoodSig();
  v.push_back('\0');
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "sig_size 3 but 4 bytes follow");
}

TEST(ImaXattrTest, RejectsWrongTypeByte) {
  ExpectMalformed(ParseSignatureV2(GoodSig(), XattrType::kEvmPortableDigsig),
                  "wrong type byte 0x03, expected 0x05");
  std::string v = GoodSig();
  v[0] = 0x04;
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "wrong type byte 0x04, expected 0x03");
}

TEST(ImaXattrTest, RejectsVersion1And3) {
  std::string v = GoodSig();
  v[1] = 0x01;
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "version 1, expected 2");
  v[1] = 0x03;
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "version 3, expected 2");
}

TEST(ImaXattrTest, RejectsSha1AndSha224) {
  std::string v = GoodSig();
  v[2] = 0x02;
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "hash algorithm 2 (sha1) not allowed");
  v[2] = 0x07;
  ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                  "hash algorithm 7 (sha224) not allowed");
}

TEST(ImaXattrTest, RejectsUnknownHashAlgo) {
  std::string v = GoodSig();
  for (int id : {0, 1, 3, 17, 22, 23, 0xff}) {
    v[2] = static_cast<char>(id);
    ExpectMalformed(ParseSignatureV2(v, XattrType::kDigsig),
                    "hash algorithm " + std::to_string(id) + " unknown");
  }
}

TEST(ImaXattrTest, EncodeImaDigestGolden) {
  std::vector<uint8_t> sha1(20, 0x11);
  EXPECT_EQ(EncodeImaDigest(HashAlgo::kSha1, sha1),
            Bytes({0x01}) + std::string(20, 0x11));
  std::vector<uint8_t> sha256(32, 0x22);
  EXPECT_EQ(EncodeImaDigest(HashAlgo::kSha256, sha256),
            Bytes({0x04, 0x04}) + std::string(32, 0x22));
  std::vector<uint8_t> sha512(64, 0x33);
  EXPECT_EQ(EncodeImaDigest(HashAlgo::kSha512, sha512),
            Bytes({0x04, 0x06}) + std::string(64, 0x33));
}

TEST(ImaXattrTest, ParseImaXattrForms) {
  Result<ImaXattr> sig = ParseImaXattr(GoodSig());
  ASSERT_TRUE(sig.has_value()) << sig.error().message;
  EXPECT_TRUE(sig->is_signature);
  EXPECT_EQ(sig->signature.keyid, 0xd71aea5eu);

  std::vector<uint8_t> d384(48, 0x44);
  Result<ImaXattr> ng = ParseImaXattr(EncodeImaDigest(HashAlgo::kSha384, d384));
  ASSERT_TRUE(ng.has_value()) << ng.error().message;
  EXPECT_FALSE(ng->is_signature);
  EXPECT_EQ(ng->digest_algo, HashAlgo::kSha384);
  EXPECT_EQ(ng->digest, d384);

  std::vector<uint8_t> d1(20, 0x55);
  Result<ImaXattr> legacy = ParseImaXattr(EncodeImaDigest(HashAlgo::kSha1, d1));
  ASSERT_TRUE(legacy.has_value()) << legacy.error().message;
  EXPECT_FALSE(legacy->is_signature);
  EXPECT_EQ(legacy->digest_algo, HashAlgo::kSha1);
  EXPECT_EQ(legacy->digest, d1);
}

// ima_get_hash_algo: a 21-byte 0x01 value with data[16..19] zero is MD5.
TEST(ImaXattrTest, LegacySha1EndingInFourZerosReadsAsMd5ToTheKernel) {
  std::vector<uint8_t> d1(20, 0x55);
  d1[16] = d1[17] = d1[18] = 0;
  Result<ImaXattr> legacy = ParseImaXattr(EncodeImaDigest(HashAlgo::kSha1, d1));
  ASSERT_TRUE(legacy.has_value()) << legacy.error().message;
  EXPECT_FALSE(legacy->kernel_reads_md5);  // byte 19 is not zero
  d1[19] = 0;
  legacy = ParseImaXattr(EncodeImaDigest(HashAlgo::kSha1, d1));
  ASSERT_TRUE(legacy.has_value()) << legacy.error().message;
  EXPECT_TRUE(legacy->kernel_reads_md5);
  // The 0x04 form names its algorithm: never MD5.
  Result<ImaXattr> ng = ParseImaXattr(
      Bytes({0x04, 0x02}) + std::string(16, 0x55) + std::string(4, '\0'));
  ASSERT_TRUE(ng.has_value()) << ng.error().message;
  EXPECT_FALSE(ng->kernel_reads_md5);
}

TEST(ImaXattrTest, ParseImaXattrRejectsEmpty) {
  ExpectMalformed(ParseImaXattr(""), "empty");
}

TEST(ImaXattrTest, ParseImaXattrRejectsOtherTypes) {
  for (int type : {0x00, 0x02, 0x05, 0x06, 0xff}) {
    ExpectMalformed(ParseImaXattr(Bytes({type}) + std::string(32, 'x')),
                    "type byte");
  }
}

TEST(ImaXattrTest, ParseImaXattrRejectsBadSignature) {
  std::string v = GoodSig();
  v[1] = 0x01;
  ExpectMalformed(ParseImaXattr(v), "version 1, expected 2");
}

TEST(ImaXattrTest, ParseImaXattrRejectsDigestLength) {
  ExpectMalformed(ParseImaXattr(Bytes({0x04, 0x04}) + std::string(31, 'x')),
                  "sha256 digest of 31 bytes, expected 32");
  ExpectMalformed(ParseImaXattr(Bytes({0x04, 0x04}) + std::string(33, 'x')),
                  "sha256 digest of 33 bytes, expected 32");
  ExpectMalformed(ParseImaXattr(Bytes({0x01}) + std::string(16, 'x')),
                  "sha1 digest of 16 bytes, expected 20");
}

TEST(ImaXattrTest, ParseImaXattrRejectsMissingAlgoByte) {
  ExpectMalformed(ParseImaXattr(Bytes({0x04})), "truncated");
}

TEST(ImaXattrTest, ParseImaXattrRejectsUnknownDigestAlgo) {
  ExpectMalformed(ParseImaXattr(Bytes({0x04, 0x11}) + std::string(32, 'x')),
                  "hash algorithm 17 unknown");
}

}  // namespace
}  // namespace imab

namespace imab {
namespace {

TEST(HashAlgoTest, KernelIdsNamesAndSizes) {
  EXPECT_EQ(HashAlgoFromKernelId(2), HashAlgo::kSha1);
  EXPECT_EQ(HashAlgoFromKernelId(4), HashAlgo::kSha256);
  EXPECT_EQ(HashAlgoFromKernelId(5), HashAlgo::kSha384);
  EXPECT_EQ(HashAlgoFromKernelId(6), HashAlgo::kSha512);
  EXPECT_EQ(HashAlgoFromKernelId(7), HashAlgo::kSha224);
  EXPECT_FALSE(HashAlgoFromKernelId(1).has_value());
  EXPECT_FALSE(HashAlgoFromKernelId(20).has_value());
  for (HashAlgo algo : {HashAlgo::kSha1, HashAlgo::kSha224, HashAlgo::kSha256,
                        HashAlgo::kSha384, HashAlgo::kSha512}) {
    ASSERT_NE(HashAlgoMd(algo), nullptr);
    EXPECT_EQ(static_cast<size_t>(EVP_MD_get_size(HashAlgoMd(algo))),
              HashAlgoDigestSize(algo));
  }
  EXPECT_EQ(HashAlgoName(HashAlgo::kSha384), "sha384");
}

TEST(HashAlgoTest, SigningAlgoFromName) {
  EXPECT_EQ(*SigningHashAlgoFromName("sha256"), HashAlgo::kSha256);
  EXPECT_EQ(*SigningHashAlgoFromName("sha384"), HashAlgo::kSha384);
  EXPECT_EQ(*SigningHashAlgoFromName("sha512"), HashAlgo::kSha512);
  for (const char* bad : {"sha1", "sha224", "SHA256", "", "md5"}) {
    Result<HashAlgo> r = SigningHashAlgoFromName(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(IsSigningHashAlgo(HashAlgo::kSha1));
  EXPECT_TRUE(IsSigningHashAlgo(HashAlgo::kSha512));
}

}  // namespace
}  // namespace imab
