// DigestSigner from files: what it signs (RSA PKCS#1 v1.5 DigestInfo,
// ECDSA DER), concurrent use, and every key/certificate it refuses.
#include "builder/digest_signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/read/digest_signature.h"
#include "common/read/hex.h"
#include "common/read/keyid.h"
#include "common/read/x509_util.h"
#include "common/write/public_key_id.h"
#include "tests/testutil/digest_of.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::CertOptions;
using imab::testing::DigestOf;
using imab::testing::KeyType;
using imab::testing::RunShell;
using imab::testing::ShellQuote;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;

void WriteDer(const X509* cert, const std::string& path) {
  imab::testing::WriteFile(path, CertificateDer(cert).value());
}

class DigestSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    const std::string d = dir_->path().string();
    ca_ = std::make_unique<TestIdentity>(imab::testing::MakeRootCa(d, "ca"));
    CertOptions o;
    o.key_type = KeyType::kEcP256;
    ec_ = std::make_unique<TestIdentity>(
        imab::testing::MakeIssued(d, "ec", *ca_, o));
    o.key_type = KeyType::kRsa2048;
    rsa_ = std::make_unique<TestIdentity>(
        imab::testing::MakeIssued(d, "rsa", *ca_, o));
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
    ca_.reset();
    dir_.reset();
  }

  static std::unique_ptr<DigestSigner> Load(const TestIdentity& id) {
    Result<std::unique_ptr<DigestSigner>> s =
        LoadFileDigestSigner(id.key_path, id.cert_path);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return s.has_value() ? std::move(*s) : nullptr;
  }

  // A self-signed certificate made by the openssl CLI for a key made by
  // `newkey` (an openssl req -newkey argument list) with `extensions`.
  static bool CliIdentity(const std::string& name, const std::string& newkey,
                          const std::string& extensions, std::string* key,
                          std::string* cert) {
    *key = dir_->Sub(name + ".key");
    *cert = dir_->Sub(name + ".pem");
    const std::string csr = dir_->Sub(name + ".csr");
    const std::string ext = dir_->Sub(name + ".ext");
    imab::testing::WriteFile(ext, extensions);
    imab::testing::CommandResult r = RunShell(
        "openssl req -new -nodes -newkey " + newkey + " -subj /CN=" + name +
        " -keyout " + ShellQuote(*key) + " -out " + ShellQuote(csr) +
        " && openssl x509 -req -days 2 -in " + ShellQuote(csr) + " -signkey " +
        ShellQuote(*key) + " -extfile " + ShellQuote(ext) + " -out " +
        ShellQuote(*cert));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0;
  }

  static void ExpectRefused(const std::string& key, const std::string& cert,
                            const std::string& what) {
    Result<std::unique_ptr<DigestSigner>> s = LoadFileDigestSigner(key, cert);
    ASSERT_THAT(s, StatusIs(ErrorCode::kInvalidArgument, HasSubstr(what)));
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestIdentity> ca_;
  static inline std::unique_ptr<TestIdentity> ec_;
  static inline std::unique_ptr<TestIdentity> rsa_;
};

constexpr const char kSigningExt[] =
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
    "subjectKeyIdentifier=hash\n";

TEST_F(DigestSignerTest, KeyIdIsSkidTail) {
  for (const TestIdentity* id : {ec_.get(), rsa_.get()}) {
    std::unique_ptr<DigestSigner> signer = Load(*id);
    ASSERT_NE(signer, nullptr);
    EXPECT_EQ(signer->keyid(), *KeyIdFromCertificate(id->cert.get()));
    EXPECT_EQ(signer->keyid(), *KeyIdFromPublicKey(id->key.get()));
    ASSERT_NE(signer->certificate(), nullptr);
    EXPECT_EQ(X509_cmp(signer->certificate(), id->cert.get()), 0);
  }
}

TEST_F(DigestSignerTest, LoadsDerCertificate) {
  const std::string der = dir_->Sub("rsa.der");
  WriteDer(rsa_->cert.get(), der);
  Result<std::unique_ptr<DigestSigner>> s =
      LoadFileDigestSigner(rsa_->key_path, der);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ((*s)->keyid(), *KeyIdFromCertificate(rsa_->cert.get()));
}

TEST_F(DigestSignerTest, SignaturesVerifyForEveryAlgo) {
  for (const TestIdentity* id : {ec_.get(), rsa_.get()}) {
    std::unique_ptr<DigestSigner> signer = Load(*id);
    ASSERT_NE(signer, nullptr);
    EVP_PKEY* pub = X509_get0_pubkey(signer->certificate());
    for (HashAlgo algo :
         {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
      std::vector<uint8_t> digest = DigestOf(algo, "content");
      Result<std::vector<uint8_t>> sig = signer->Sign(algo, digest);
      ASSERT_TRUE(sig.has_value()) << sig.error().message;
      Status ok = VerifyDigestSignature(pub, algo, digest, *sig);
      EXPECT_TRUE(ok.ok()) << ok.error().message;
      digest[0] ^= 1;
      EXPECT_FALSE(VerifyDigestSignature(pub, algo, digest, *sig).ok());
    }
  }
}

TEST_F(DigestSignerTest, RsaSignsPkcs1DigestInfo) {
  std::unique_ptr<DigestSigner> signer = Load(*rsa_);
  ASSERT_NE(signer, nullptr);
  // DER DigestInfo prefixes (RFC 8017 §9.2 note 1).
  const std::vector<std::pair<HashAlgo, std::string>> prefixes = {
      {HashAlgo::kSha256, "3031300d060960864801650304020105000420"},
      {HashAlgo::kSha384, "3041300d060960864801650304020205000430"},
      {HashAlgo::kSha512, "3051300d060960864801650304020305000440"}};
  for (const auto& [algo, prefix] : prefixes) {
    std::vector<uint8_t> digest = DigestOf(algo, "content");
    Result<std::vector<uint8_t>> sig = signer->Sign(algo, digest);
    ASSERT_TRUE(sig.has_value()) << sig.error().message;
    EXPECT_EQ(sig->size(), 256u);
    // Recover the signed block with raw PKCS#1 v1.5 (no md): it must be
    // exactly DigestInfo(algo, digest).
    Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(
        nullptr, X509_get0_pubkey(signer->certificate()), nullptr));
    ASSERT_NE(ctx, nullptr);
    ASSERT_EQ(EVP_PKEY_verify_recover_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
    std::vector<uint8_t> out(256);
    size_t len = out.size();
    ASSERT_EQ(EVP_PKEY_verify_recover(ctx.get(), out.data(), &len, sig->data(),
                                      sig->size()),
              1);
    out.resize(len);
    EXPECT_EQ(HexEncode(out), prefix + HexEncode(digest));
    // PKCS#1 v1.5 is deterministic: evmctl produces the same bytes.
    Result<std::vector<uint8_t>> again = signer->Sign(algo, digest);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *sig);
  }
}

TEST_F(DigestSignerTest, EcdsaSignsDer) {
  std::unique_ptr<DigestSigner> signer = Load(*ec_);
  ASSERT_NE(signer, nullptr);
  Result<std::vector<uint8_t>> sig =
      signer->Sign(HashAlgo::kSha256, DigestOf(HashAlgo::kSha256, "x"));
  ASSERT_TRUE(sig.has_value()) << sig.error().message;
  ASSERT_GE(sig->size(), 8u);
  EXPECT_LE(sig->size(), 72u);
  EXPECT_EQ((*sig)[0], 0x30);  // SEQUENCE
  EXPECT_EQ(size_t{(*sig)[1]} + 2, sig->size());
}

TEST_F(DigestSignerTest, ConcurrentSigningFromFourThreads) {
  for (const TestIdentity* id : {ec_.get(), rsa_.get()}) {
    std::unique_ptr<DigestSigner> signer = Load(*id);
    ASSERT_NE(signer, nullptr);
    constexpr int kThreads = 4;
    constexpr int kPerThread = 25;
    std::vector<std::vector<std::vector<uint8_t>>> sigs(kThreads);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::vector<uint8_t> d = DigestOf(
              HashAlgo::kSha256, std::to_string(t) + "/" + std::to_string(i));
          Result<std::vector<uint8_t>> sig = signer->Sign(HashAlgo::kSha256, d);
          if (!sig.has_value()) {
            errors[static_cast<size_t>(t)] = sig.error().message;
            return;
          }
          sigs[static_cast<size_t>(t)].push_back(std::move(*sig));
        }
      });
    }
    for (std::thread& th : threads) {
      th.join();
    }
    EVP_PKEY* pub = X509_get0_pubkey(signer->certificate());
    for (int t = 0; t < kThreads; ++t) {
      const auto ut = static_cast<size_t>(t);
      EXPECT_EQ(errors[ut], "");
      ASSERT_EQ(sigs[ut].size(), size_t{kPerThread});
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<uint8_t> d = DigestOf(
            HashAlgo::kSha256, std::to_string(t) + "/" + std::to_string(i));
        Status ok = VerifyDigestSignature(pub, HashAlgo::kSha256, d,
                                          sigs[ut][static_cast<size_t>(i)]);
        EXPECT_TRUE(ok.ok()) << DescribeKey(pub) << " " << t << "/" << i;
      }
    }
  }
}

TEST_F(DigestSignerTest, SignRejectsWrongDigestLength) {
  std::unique_ptr<DigestSigner> signer = Load(*ec_);
  ASSERT_NE(signer, nullptr);
  Result<std::vector<uint8_t>> sig =
      signer->Sign(HashAlgo::kSha384, DigestOf(HashAlgo::kSha256, "x"));
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DigestSignerTest, SignRejectsNonSigningAlgo) {
  std::unique_ptr<DigestSigner> signer = Load(*rsa_);
  ASSERT_NE(signer, nullptr);
  Result<std::vector<uint8_t>> sig =
      signer->Sign(HashAlgo::kSha1, DigestOf(HashAlgo::kSha1, "x"));
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DigestSignerTest, RefusesKeyCertificateMismatch) {
  ExpectRefused(ec_->key_path, rsa_->cert_path, "does not match certificate");
  ExpectRefused(rsa_->key_path, ca_->cert_path, "does not match certificate");
}

TEST_F(DigestSignerTest, RefusesEncryptedKey) {
  const std::string enc = dir_->Sub("enc.key");
  imab::testing::CommandResult r =
      RunShell("openssl pkey -in " + ShellQuote(ec_->key_path) +
               " -aes256 -passout pass:secret -out " + ShellQuote(enc));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectRefused(enc, ec_->cert_path, "private key is encrypted");
}

TEST_F(DigestSignerTest, RefusesCertificateWithoutSkid) {
  std::string key;
  std::string cert;
  ASSERT_TRUE(CliIdentity("noskid", "ec -pkeyopt ec_paramgen_curve:P-256",
                          "basicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature\n"
                          "subjectKeyIdentifier=none\n"
                          "authorityKeyIdentifier=none\n",
                          &key, &cert));
  ExpectRefused(key, cert, "no subjectKeyIdentifier");
}

TEST_F(DigestSignerTest, RefusesRsa1024) {
  std::string key;
  std::string cert;
  ASSERT_TRUE(CliIdentity("rsa1024", "rsa:1024", kSigningExt, &key, &cert));
  ExpectRefused(key, cert, "RSA-1024: the kernel accepts RSA 2048");
}

TEST_F(DigestSignerTest, RefusesP521) {
  std::string key;
  std::string cert;
  ASSERT_TRUE(CliIdentity("p521", "ec -pkeyopt ec_paramgen_curve:P-521",
                          kSigningExt, &key, &cert));
  ExpectRefused(key, cert, "EC P-521: the kernel accepts EC P-256 or P-384");
}

TEST_F(DigestSignerTest, RefusesSecp256k1) {
  std::string key;
  std::string cert;
  ASSERT_TRUE(CliIdentity("k1", "ec -pkeyopt ec_paramgen_curve:secp256k1",
                          kSigningExt, &key, &cert));
  ExpectRefused(key, cert, "EC secp256k1: the kernel accepts EC P-256");
}

TEST_F(DigestSignerTest, AcceptsCliP384) {
  std::string key;
  std::string cert;
  ASSERT_TRUE(CliIdentity("p384", "ec -pkeyopt ec_paramgen_curve:P-384",
                          kSigningExt, &key, &cert));
  Result<std::unique_ptr<DigestSigner>> s = LoadFileDigestSigner(key, cert);
  ASSERT_TRUE(s.has_value()) << s.error().message;
}

TEST_F(DigestSignerTest, MissingFilesAreIoErrors) {
  Result<std::unique_ptr<DigestSigner>> s =
      LoadFileDigestSigner(dir_->Sub("absent.key"), ec_->cert_path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  s = LoadFileDigestSigner(ec_->key_path, dir_->Sub("absent.pem"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace imab::builder
