// IMA key ids: the certificate (SKID tail) rule, evmctl's public-key rule,
// and certificates the kernel could never find.
#include "common/read/keyid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <array>
#include <string>

#include "common/read/x509_util.h"
#include "common/write/public_key_id.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using ::testing::HasSubstr;
using testing::KeyType;
using testing::TempDir;

// A fixed P-256 key; evmctl 1.4 reports "keyid: 2d6e7c22" for it.
constexpr const char kFixedEcKey[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKB5zi7Xmn51M4U/S\n"
    "XAIQ/+x/YSlVqOsimSGDkw5p5LKhRANCAATKVjPh0il5LotXVZq28c5s2mbr2nN0\n"
    "HeeS6wqIEsJ0LTzzuVRGxTHSSNjXvPHIDhMYPrfBQstF3XrdQzy/XWIW\n"
    "-----END PRIVATE KEY-----\n";

// Creates a self-signed P-256 certificate with the openssl CLI and the
// given extension file contents; returns its path ("" on failure).
std::string CliCert(const TempDir& dir, const std::string& name,
                    const std::string& extensions) {
  const std::string key = dir.Sub(name + ".key");
  const std::string csr = dir.Sub(name + ".csr");
  const std::string ext = dir.Sub(name + ".ext");
  const std::string cert = dir.Sub(name + ".pem");
  testing::WriteFile(ext, extensions);
  testing::CommandResult r = testing::RunShell(
      "openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256"
      " -subj /CN=" +
      name + " -keyout " + testing::ShellQuote(key) + " -out " +
      testing::ShellQuote(csr) +
      " && openssl x509 -req -days 2"
      " -in " +
      testing::ShellQuote(csr) + " -signkey " + testing::ShellQuote(key) +
      " -extfile " + testing::ShellQuote(ext) + " -out " +
      testing::ShellQuote(cert));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? cert : "";
}

TEST(KeyIdTest, SkidHashCertificateMatchesPublicKeyRule) {
  TempDir dir;
  testing::TestIdentity ca = testing::MakeRootCa(dir.path().string(), "ca");
  for (KeyType type : {KeyType::kEcP256, KeyType::kRsa2048}) {
    testing::CertOptions options;
    options.key_type = type;
    testing::TestIdentity signer =
        testing::MakeIssued(dir.path().string(), "signer", ca, options);
    Result<uint32_t> from_cert = KeyIdFromCertificate(signer.cert.get());
    ASSERT_TRUE(from_cert.has_value()) << from_cert.error().message;
    Result<uint32_t> from_key = KeyIdFromPublicKey(signer.key.get());
    ASSERT_TRUE(from_key.has_value()) << from_key.error().message;
    EXPECT_EQ(*from_cert, *from_key);
    // The public half alone gives the same id.
    Result<uint32_t> from_pub =
        KeyIdFromPublicKey(X509_get0_pubkey(signer.cert.get()));
    ASSERT_TRUE(from_pub.has_value());
    EXPECT_EQ(*from_pub, *from_key);
    // Independent check: OpenSSL's SHA-1 over the BIT STRING contents.
    std::array<unsigned char, 20> sha1{};
    unsigned int len = 0;
    ASSERT_EQ(
        X509_pubkey_digest(signer.cert.get(), EVP_sha1(), sha1.data(), &len),
        1);
    const uint32_t tail = (uint32_t{sha1[16]} << 24) |
                          (uint32_t{sha1[17]} << 16) |
                          (uint32_t{sha1[18]} << 8) | uint32_t{sha1[19]};
    EXPECT_EQ(*from_key, tail);
  }
}

TEST(KeyIdTest, PublicKeyRuleGoldenFromEvmctl) {
  Ptr<BIO> bio(BIO_new_mem_buf(kFixedEcKey, -1));
  ASSERT_NE(bio, nullptr);
  Ptr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(key, nullptr);
  Result<uint32_t> id = KeyIdFromPublicKey(key.get());
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(*id, 0x2d6e7c22u);
  EXPECT_EQ(KeyIdHex(*id), "2d6e7c22");
}

TEST(KeyIdTest, CustomSkidUsesItsTail) {
  TempDir dir;
  const std::string path =
      CliCert(dir, "custom",
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
              "subjectKeyIdentifier=11223344556677889900aabbccddeeff00112233\n"
              "authorityKeyIdentifier=none\n");
  ASSERT_FALSE(path.empty());
  Result<Ptr<X509>> cert = LoadCertificate(path);
  ASSERT_TRUE(cert.has_value()) << cert.error().message;
  Result<uint32_t> id = KeyIdFromCertificate(cert->get());
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(*id, 0x00112233u);
  // evmctl 1.4's verification rule disagrees for such certificates.
  Result<uint32_t> from_key = KeyIdFromPublicKey(X509_get0_pubkey(cert->get()));
  ASSERT_TRUE(from_key.has_value());
  EXPECT_NE(*from_key, *id);
}

TEST(KeyIdTest, RejectsCertificateWithoutSkid) {
  TempDir dir;
  const std::string path =
      CliCert(dir, "noskid",
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
              "subjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n");
  ASSERT_FALSE(path.empty());
  Result<Ptr<X509>> cert = LoadCertificate(path);
  ASSERT_TRUE(cert.has_value()) << cert.error().message;
  ASSERT_EQ(X509_get0_subject_key_id(cert->get()), nullptr);
  Result<uint32_t> id = KeyIdFromCertificate(cert->get());
  ASSERT_THAT(id, StatusIs(ErrorCode::kInvalidArgument,
                           HasSubstr("no subjectKeyIdentifier")));
}

TEST(KeyIdTest, RejectsSkidShorterThanFourBytes) {
  TempDir dir;
  const std::string path =
      CliCert(dir, "shortskid",
              "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
              "subjectKeyIdentifier=112233\nauthorityKeyIdentifier=none\n");
  ASSERT_FALSE(path.empty());
  Result<Ptr<X509>> cert = LoadCertificate(path);
  ASSERT_TRUE(cert.has_value()) << cert.error().message;
  Result<uint32_t> id = KeyIdFromCertificate(cert->get());
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
}

TEST(KeyIdTest, RejectsNull) {
  EXPECT_FALSE(KeyIdFromCertificate(nullptr).has_value());
  EXPECT_FALSE(KeyIdFromPublicKey(nullptr).has_value());
}

TEST(KeyIdTest, HexIsEightLowerCaseDigits) {
  EXPECT_EQ(KeyIdHex(0xd71aea5e), "d71aea5e");
  EXPECT_EQ(KeyIdHex(0x0000abcd), "0000abcd");
  EXPECT_EQ(KeyIdHex(0), "00000000");
}

}  // namespace
}  // namespace imab
