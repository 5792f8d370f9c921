// Verifying signatures over raw digests as the kernel does, and the key
// types the kernel accepts. Signatures here are made through
// EVP_DigestSign over the *message*, an independent path that must give
// what the kernel checks over the digest.
#include "common/read/digest_signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include <string>
#include <vector>

#include "common/read/handles.h"
#include "tests/testutil/digest_of.h"
#include "tests/testutil/status_matchers.h"

namespace imab {
namespace {

using imab::testing::DigestOf;
using imab::testing::StatusIs;
using ::testing::HasSubstr;

Ptr<EVP_PKEY> Rsa(size_t bits) {
  return Ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

Ptr<EVP_PKEY> Ec(const char* curve) {
  return Ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

// Signs `msg` with hash-then-sign (PKCS#1 v1.5 for RSA unless `pss`).
std::vector<uint8_t> SignMessage(EVP_PKEY* key, HashAlgo algo,
                                 const std::string& msg, bool pss = false) {
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  EXPECT_EQ(
      EVP_DigestSignInit(ctx.get(), &pctx, HashAlgoMd(algo), nullptr, key), 1);
  if (pss) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
  }
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(msg.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, data, msg.size()), 1);
  std::vector<uint8_t> sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, data, msg.size()), 1);
  sig.resize(len);
  return sig;
}

class DigestSignatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_owned_ = Rsa(2048);
    p256_owned_ = Ec("P-256");
    p384_owned_ = Ec("P-384");
    rsa_ = rsa_owned_.get();
    p256_ = p256_owned_.get();
    p384_ = p384_owned_.get();
  }
  static void TearDownTestSuite() {
    rsa_owned_.reset();
    p256_owned_.reset();
    p384_owned_.reset();
  }
  static inline Ptr<EVP_PKEY> rsa_owned_;
  static inline Ptr<EVP_PKEY> p256_owned_;
  static inline Ptr<EVP_PKEY> p384_owned_;
  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* p256_ = nullptr;
  static inline EVP_PKEY* p384_ = nullptr;
};

TEST_F(DigestSignatureTest, VerifiesRsaAndEcForEverySigningAlgo) {
  const std::string msg = "file content\n";
  for (EVP_PKEY* key : {rsa_, p256_, p384_}) {
    for (HashAlgo algo :
         {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
      std::vector<uint8_t> sig = SignMessage(key, algo, msg);
      Status s = VerifyDigestSignature(key, algo, DigestOf(algo, msg), sig);
      EXPECT_TRUE(s.ok()) << DescribeKey(key) << " " << HashAlgoName(algo)
                          << ": " << s.error().message;
    }
  }
}

TEST_F(DigestSignatureTest, RejectsFlippedSignatureBit) {
  const std::string msg = "abc";
  for (EVP_PKEY* key : {rsa_, p256_}) {
    std::vector<uint8_t> sig = SignMessage(key, HashAlgo::kSha256, msg);
    sig[sig.size() / 2] ^= 0x01;
    Status s = VerifyDigestSignature(key, HashAlgo::kSha256,
                                     DigestOf(HashAlgo::kSha256, msg), sig);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
  }
}

TEST_F(DigestSignatureTest, RejectsOtherDigest) {
  for (EVP_PKEY* key : {rsa_, p256_}) {
    std::vector<uint8_t> sig = SignMessage(key, HashAlgo::kSha256, "abc");
    Status s = VerifyDigestSignature(key, HashAlgo::kSha256,
                                     DigestOf(HashAlgo::kSha256, "abd"), sig);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
  }
}

TEST_F(DigestSignatureTest, RejectsWrongKey) {
  std::vector<uint8_t> sig = SignMessage(p256_, HashAlgo::kSha256, "abc");
  Ptr<EVP_PKEY> other = Ec("P-256");
  Status s = VerifyDigestSignature(other.get(), HashAlgo::kSha256,
                                   DigestOf(HashAlgo::kSha256, "abc"), sig);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
}

TEST_F(DigestSignatureTest, RsaDigestInfoNamesTheAlgorithm) {
  // RSA signs DigestInfo(algo OID, digest): a sha384 signature does not
  // verify when the header claims another algorithm.
  std::vector<uint8_t> sig = SignMessage(rsa_, HashAlgo::kSha384, "abc");
  std::vector<uint8_t> d = DigestOf(HashAlgo::kSha384, "abc");
  EXPECT_TRUE(VerifyDigestSignature(rsa_, HashAlgo::kSha384, d, sig).ok());
  std::vector<uint8_t> d512 = DigestOf(HashAlgo::kSha512, "abc");
  Status s = VerifyDigestSignature(rsa_, HashAlgo::kSha512, d512, sig);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
}

TEST_F(DigestSignatureTest, RejectsPssSignature) {
  // The kernel checks PKCS#1 v1.5 only.
  std::vector<uint8_t> sig =
      SignMessage(rsa_, HashAlgo::kSha256, "abc", /*pss=*/true);
  Status s = VerifyDigestSignature(rsa_, HashAlgo::kSha256,
                                   DigestOf(HashAlgo::kSha256, "abc"), sig);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
}

TEST_F(DigestSignatureTest, RejectsEmptyAndGarbageSignature) {
  std::vector<uint8_t> d = DigestOf(HashAlgo::kSha256, "abc");
  for (EVP_PKEY* key : {rsa_, p256_}) {
    Status s = VerifyDigestSignature(key, HashAlgo::kSha256, d, {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
    std::vector<uint8_t> junk(72, 0x30);
    s = VerifyDigestSignature(key, HashAlgo::kSha256, d, junk);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
  }
}

TEST_F(DigestSignatureTest, RejectsTrailingByteAfterEcdsaDer) {
  std::vector<uint8_t> sig = SignMessage(p256_, HashAlgo::kSha256, "abc");
  sig.push_back(0);
  Status s = VerifyDigestSignature(p256_, HashAlgo::kSha256,
                                   DigestOf(HashAlgo::kSha256, "abc"), sig);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBadSignature);
}

TEST_F(DigestSignatureTest, RejectsDigestOfWrongLength) {
  std::vector<uint8_t> sig = SignMessage(p256_, HashAlgo::kSha256, "abc");
  std::vector<uint8_t> d = DigestOf(HashAlgo::kSha256, "abc");
  d.pop_back();
  Status s = VerifyDigestSignature(p256_, HashAlgo::kSha256, d, sig);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DigestSignatureTest, RejectsKeyTypeKernelCannotUse) {
  Ptr<EVP_PKEY> ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(ed, nullptr);
  Status s = VerifyDigestSignature(ed.get(), HashAlgo::kSha256,
                                   DigestOf(HashAlgo::kSha256, "abc"),
                                   std::vector<uint8_t>(64, 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DigestSignatureTest, KernelKeyTypesAccepted) {
  EXPECT_TRUE(CheckKernelKeyType(rsa_).ok());
  EXPECT_TRUE(CheckKernelKeyType(p256_).ok());
  EXPECT_TRUE(CheckKernelKeyType(p384_).ok());
  Ptr<EVP_PKEY> rsa3072 = Rsa(3072);
  EXPECT_TRUE(CheckKernelKeyType(rsa3072.get()).ok());
  EXPECT_EQ(DescribeKey(rsa_), "RSA-2048");
  EXPECT_EQ(DescribeKey(p256_), "EC P-256");
  EXPECT_EQ(DescribeKey(p384_), "EC P-384");
}

TEST_F(DigestSignatureTest, RefusesRsa1024) {
  Ptr<EVP_PKEY> key = Rsa(1024);
  Status s = CheckKernelKeyType(key.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message,
            "RSA-1024: the kernel accepts RSA 2048, 3072 or 4096");
}

TEST_F(DigestSignatureTest, RefusesP521AndSecp256k1) {
  Ptr<EVP_PKEY> p521 = Ec("P-521");
  Status s = CheckKernelKeyType(p521.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "EC P-521: the kernel accepts EC P-256 or P-384");
  Ptr<EVP_PKEY> k1 = Ec("secp256k1");
  s = CheckKernelKeyType(k1.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "EC secp256k1: the kernel accepts EC P-256 or P-384");
}

TEST_F(DigestSignatureTest, RefusesOtherKeyTypes) {
  Ptr<EVP_PKEY> ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  Status s = CheckKernelKeyType(ed.get());
  ASSERT_THAT(s, StatusIs(ErrorCode::kInvalidArgument, HasSubstr("ED25519")));
  EXPECT_FALSE(CheckKernelKeyType(nullptr).ok());
}

}  // namespace
}  // namespace imab
