// Keys in a PKCS#11 token (SoftHSM2): URI parsing and selection, digest
// signatures, concurrent use, CMS and X.509 signing with the token key, and
// every refusal, whose messages must never carry the PIN.
#include "builder/pkcs11_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/read/digest_signature.h"
#include "common/read/keyid.h"
#include "common/read/openssl_error.h"
#include "tests/testutil/digest_of.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/softhsm.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::CertOptions;
using imab::testing::DigestOf;
using imab::testing::KeyType;
using imab::testing::RunShell;
using imab::testing::ShellQuote;
using imab::testing::SoftHsm;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kModule = SoftHsm::kModulePath;

std::string CertPem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509(bio.get(), cert), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(Pkcs11UriTest, RecognisesScheme) {
  EXPECT_TRUE(IsPkcs11Uri("pkcs11:token=a"));
  EXPECT_TRUE(IsPkcs11Uri("PKCS11:"));
  EXPECT_FALSE(IsPkcs11Uri("pkcs11"));
  EXPECT_FALSE(IsPkcs11Uri("/etc/keys/release.key"));
  EXPECT_FALSE(IsPkcs11Uri("pkcs12:token=a"));
}

// Syntax is checked before any module is loaded, so these need no token.
TEST(Pkcs11UriTest, RefusesBadSyntaxWithoutEchoingValues) {
  const char* const kBad[] = {
      "pkcs12:token=a?pin-value=9999",
      "pkcs11:token=a;pin-value=9999",  // a query attribute in the path
      "pkcs11:token=a?pin-value=99%9",
      "pkcs11:token=a?pin-value=9999&pin-source=file:/x9999",
      "pkcs11:token=a?pin-value=9999&pin-value=9999",
      "pkcs11:object=%zz9999",
      "pkcs11:token=a;;object=b?pin-value=9999",
      "pkcs11:token=a;?pin-value=9999",
      "pkcs11:token?pin-value=9999",
      "pkcs11:=9999",
      "pkcs11:token=a;token=b?pin-value=9999",
      "pkcs11:token=a;type=cert?pin-value=9999",
      "pkcs11:token=a?",
      "pkcs11:token=a?pin-value=9999&",
      "pkcs11:token=a?x-unknown=9999",
      "pkcs11:token=a#9999",
      "pkcs11:object=with space",
      "pkcs11:slot-id=9999",
  };
  for (const char* uri : kBad) {
    Result<std::unique_ptr<Pkcs11Key>> key = Pkcs11Key::Open(uri, kModule);
    ASSERT_FALSE(key.has_value()) << uri;
    EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument) << uri;
    EXPECT_THAT(key.error().message, Not(HasSubstr("9999")))
        << uri << " -> " << key.error().message;
    EXPECT_EQ(key.error().message.rfind("pkcs11 URI: ", 0), 0u)
        << key.error().message;
  }
}

TEST(Pkcs11UriTest, MissingModuleIsIoErrorWithoutPin) {
  Result<std::unique_ptr<Pkcs11Key>> key = Pkcs11Key::Open(
      "pkcs11:token=rel;object=k?pin-value=9999", "/nonexistent/libnope.so");
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kIo);
  EXPECT_THAT(key.error().message,
              HasSubstr("pkcs11:token=rel;object=k: cannot "
                        "load PKCS#11 module "
                        "/nonexistent/libnope.so"));
  EXPECT_THAT(key.error().message, Not(HasSubstr("9999")));

  // module-path in the URI wins over the caller's default.
  key = Pkcs11Key::Open(
      "pkcs11:token=rel?module-path=/nonexistent/lib%20x.so&pin-value=9999",
      kModule);
  ASSERT_FALSE(key.has_value());
  EXPECT_THAT(key.error().message, HasSubstr("/nonexistent/lib x.so"));

  key = Pkcs11Key::Open("pkcs11:token=rel?pin-value=9999", "");
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
}

// One token per test process holding: ca (RSA-2048, id 03), rsa (RSA-2048,
// id 01), ec (P-256, id 02), and the rsa key again as "release key" (id
// 04a0) to exercise percent-encoding.
class Pkcs11KeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!SoftHsm::Available()) {
      return;
    }
    dir_ = std::make_unique<TempDir>();
    const std::string d = dir_->path().string();
    CertOptions o;
    o.key_type = KeyType::kRsa2048;
    o.common_name = "token CA";
    ca_ = std::make_unique<TestIdentity>(imab::testing::MakeRootCa(d, "ca", o));
    o.common_name = "rsa signer";
    rsa_ = std::make_unique<TestIdentity>(
        imab::testing::MakeIssued(d, "rsa", *ca_, o));
    o.key_type = KeyType::kEcP256;
    o.common_name = "ec signer";
    ec_ = std::make_unique<TestIdentity>(
        imab::testing::MakeIssued(d, "ec", *ca_, o));
    hsm_ = std::make_unique<SoftHsm>("imab-test");
    ready_ = hsm_->ok() && hsm_->ImportKey(ca_->key_path, "ca", "03") &&
             hsm_->ImportKey(rsa_->key_path, "rsa", "01") &&
             hsm_->ImportKey(ec_->key_path, "ec", "02") &&
             hsm_->ImportKey(rsa_->key_path, "release key", "04a0");
  }
  static void TearDownTestSuite() {
    hsm_.reset();
    ec_.reset();
    rsa_.reset();
    ca_.reset();
    dir_.reset();
  }

  void SetUp() override {
    if (!SoftHsm::Available()) {
      GTEST_SKIP() << "softhsm2-util or " << kModule << " missing";
    }
    ASSERT_TRUE(ready_) << "SoftHSM token setup failed";
  }

  static std::unique_ptr<DigestSigner> LoadSigner(const std::string& uri,
                                                  const TestIdentity& id) {
    Result<std::unique_ptr<DigestSigner>> s =
        LoadPkcs11DigestSigner(uri, id.cert_path, kModule);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return s.has_value() ? std::move(*s) : nullptr;
  }

  static std::unique_ptr<Pkcs11Key> OpenKey(const std::string& uri) {
    Result<std::unique_ptr<Pkcs11Key>> k = Pkcs11Key::Open(uri, kModule);
    EXPECT_TRUE(k.has_value()) << k.error().message;
    return k.has_value() ? std::move(*k) : nullptr;
  }

  // Opening `uri` fails with `code` and a message containing `want` and not
  // the PIN `pin`.
  static void ExpectOpenError(const std::string& uri, ErrorCode code,
                              const std::string& want, const std::string& pin) {
    Result<std::unique_ptr<Pkcs11Key>> k = Pkcs11Key::Open(uri, kModule);
    ASSERT_FALSE(k.has_value()) << uri;
    EXPECT_EQ(k.error().code, code) << k.error().message;
    EXPECT_THAT(k.error().message, HasSubstr(want));
    EXPECT_THAT(k.error().message, Not(HasSubstr(pin)));
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestIdentity> ca_, rsa_, ec_;
  static inline std::unique_ptr<SoftHsm> hsm_;
  static inline bool ready_ = false;
};

TEST_F(Pkcs11KeyTest, SignsDigestsTheCertificateVerifies) {
  struct Case {
    const char* object;
    const TestIdentity* id;
  };
  for (const Case& c : {Case{"rsa", rsa_.get()}, Case{"ec", ec_.get()}}) {
    std::unique_ptr<DigestSigner> signer =
        LoadSigner(hsm_->Uri(c.object), *c.id);
    ASSERT_NE(signer, nullptr);
    Result<uint32_t> keyid = KeyIdFromCertificate(c.id->cert.get());
    ASSERT_TRUE(keyid.has_value());
    EXPECT_EQ(signer->keyid(), *keyid);
    EXPECT_EQ(X509_cmp(signer->certificate(), c.id->cert.get()), 0);
    EVP_PKEY* pub = X509_get0_pubkey(c.id->cert.get());
    for (HashAlgo algo : {HashAlgo::kSha256, HashAlgo::kSha384}) {
      std::vector<uint8_t> digest =
          DigestOf(algo, std::string("payload ") + c.object);
      Result<std::vector<uint8_t>> sig = signer->Sign(algo, digest);
      ASSERT_TRUE(sig.has_value()) << sig.error().message;
      Status ok = VerifyDigestSignature(pub, algo, digest, *sig);
      EXPECT_TRUE(ok.ok()) << c.object << " " << HashAlgoName(algo) << ": "
                           << ok.error().message;
      digest[0] ^= 1;
      EXPECT_FALSE(VerifyDigestSignature(pub, algo, digest, *sig).ok());
    }
    std::vector<uint8_t> short_digest(10);
    EXPECT_FALSE(signer->Sign(HashAlgo::kSha256, short_digest).has_value());
  }
}

// PKCS#1 v1.5 is deterministic: the token must produce exactly what the
// same key in a file produces.
TEST_F(Pkcs11KeyTest, RsaSignatureEqualsFileKeySignature) {
  std::unique_ptr<DigestSigner> token = LoadSigner(hsm_->Uri("rsa"), *rsa_);
  Result<std::unique_ptr<DigestSigner>> file =
      LoadFileDigestSigner(rsa_->key_path, rsa_->cert_path);
  ASSERT_NE(token, nullptr);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  std::vector<uint8_t> digest = DigestOf(HashAlgo::kSha256, "same");
  Result<std::vector<uint8_t>> a = token->Sign(HashAlgo::kSha256, digest);
  Result<std::vector<uint8_t>> b = (*file)->Sign(HashAlgo::kSha256, digest);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(*a, *b);
}

TEST_F(Pkcs11KeyTest, SelectsByIdPercentEncodedLabelAndPinSource) {
  const std::string pin_file = dir_->Sub("pin.txt");
  imab::testing::WriteFile(pin_file, std::string(SoftHsm::kUserPin) + "\n");
  const std::string uris[] = {
      "pkcs11:token=imab-test;id=%01?pin-value=1234",
      "pkcs11:token=imab-test;object=release%20key;id=%04%A0?pin-value=1234",
      "pkcs11:token=imab-test;object=rsa?pin-source=file:" + pin_file,
      "pkcs11:object=rsa;token=imab-%74est?module-path=" +
          std::string(kModule) + "&pin-source=" + pin_file,
  };
  for (const std::string& uri : uris) {
    std::unique_ptr<DigestSigner> signer = LoadSigner(uri, *rsa_);
    EXPECT_NE(signer, nullptr) << uri;
  }
  std::unique_ptr<Pkcs11Key> key =
      OpenKey("pkcs11:token=imab-test;id=%02?pin-value=1234");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->key()), EVP_PKEY_EC);
  EXPECT_EQ(key->display_uri(), "pkcs11:token=imab-test;id=%02");
}

TEST_F(Pkcs11KeyTest, ConcurrentSigningFromFourThreads) {
  // Two signers on sibling keys: they share the module and its mutex.
  std::shared_ptr<Pkcs11Key> rsa_key = OpenKey(hsm_->Uri("rsa"));
  ASSERT_NE(rsa_key, nullptr);
  Result<std::unique_ptr<Pkcs11Key>> ec_key =
      rsa_key->OpenSibling(hsm_->Uri("ec"));
  ASSERT_TRUE(ec_key.has_value()) << ec_key.error().message;
  Result<std::unique_ptr<DigestSigner>> rsa =
      MakePkcs11DigestSigner(rsa_key, rsa_->cert_path);
  Result<std::unique_ptr<DigestSigner>> ec =
      MakePkcs11DigestSigner(std::move(*ec_key), ec_->cert_path);
  ASSERT_TRUE(rsa.has_value() && ec.has_value());
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const DigestSigner& s = t % 2 == 0 ? **rsa : **ec;
      EVP_PKEY* pub = X509_get0_pubkey(s.certificate());
      for (int i = 0; i < 25; ++i) {
        const HashAlgo algo =
            i % 2 == 0 ? HashAlgo::kSha256 : HashAlgo::kSha384;
        std::vector<uint8_t> digest =
            DigestOf(algo, std::to_string(t) + "/" + std::to_string(i));
        Result<std::vector<uint8_t>> sig = s.Sign(algo, digest);
        if (!sig.has_value() ||
            !VerifyDigestSignature(pub, algo, digest, *sig).ok()) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// The token key signs CMS through both CMS_sign and CMS_add1_signer; the
// openssl CLI verifies the detached signature.
TEST_F(Pkcs11KeyTest, SignsCmsDetached) {
  const std::string data_path = dir_->Sub("cms-data");
  const std::string content = "bundle manifest bytes";
  imab::testing::WriteFile(data_path, content);
  struct Case {
    const char* object;
    const TestIdentity* id;
    bool add1_signer;
  };
  for (const Case& c :
       {Case{"rsa", rsa_.get(), false}, Case{"ec", ec_.get(), true},
        Case{"rsa", rsa_.get(), true}}) {
    std::unique_ptr<Pkcs11Key> key = OpenKey(hsm_->Uri(c.object));
    ASSERT_NE(key, nullptr);
    const int flags = CMS_DETACHED | CMS_BINARY;
    Ptr<BIO> in(
        BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    // Declared after `key`, so freed before it: the CMS holds a reference.
    Ptr<CMS_ContentInfo> cms;
    if (c.add1_signer) {
      cms.reset(
          CMS_sign(nullptr, nullptr, nullptr, nullptr, flags | CMS_PARTIAL));
      ASSERT_NE(cms, nullptr) << DrainOpenSslErrors();
      ASSERT_NE(CMS_add1_signer(cms.get(), c.id->cert.get(), key->key(),
                                EVP_sha256(), flags),
                nullptr)
          << DrainOpenSslErrors();
      ASSERT_EQ(CMS_final(cms.get(), in.get(), nullptr, flags), 1)
          << DrainOpenSslErrors();
    } else {
      cms.reset(
          CMS_sign(c.id->cert.get(), key->key(), nullptr, in.get(), flags));
      ASSERT_NE(cms, nullptr) << DrainOpenSslErrors();
    }
    const std::string sig_path = dir_->Sub("cms.der");
    Ptr<BIO> out(BIO_new_file(sig_path.c_str(), "wb"));
    ASSERT_EQ(i2d_CMS_bio(out.get(), cms.get()), 1);
    out.reset();
    imab::testing::CommandResult r = RunShell(
        "openssl cms -verify -binary -inform DER -in " + ShellQuote(sig_path) +
        " -content " + ShellQuote(data_path) + " -CAfile " +
        ShellQuote(ca_->cert_path) + " -purpose any -out /dev/null");
    EXPECT_EQ(r.exit_code, 0) << c.object << ": " << r.out << r.err;
  }
}

// The CA key stays in the token and issues a leaf certificate.
TEST_F(Pkcs11KeyTest, IssuesCertificateWithTokenCaKey) {
  std::unique_ptr<Pkcs11Key> ca_key = OpenKey(hsm_->Uri("ca"));
  ASSERT_NE(ca_key, nullptr);
  Ptr<EVP_PKEY> leaf_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_NE(leaf_key, nullptr);
  Ptr<X509> leaf(X509_new());
  ASSERT_NE(leaf, nullptr);
  X509_NAME* name = X509_get_subject_name(leaf.get());  // owned by leaf
  ASSERT_EQ(X509_set_version(leaf.get(), X509_VERSION_3), 1);
  ASSERT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(leaf.get()), 4242), 1);
  ASSERT_EQ(X509_NAME_add_entry_by_txt(
                name, "CN", MBSTRING_ASC,
                reinterpret_cast<const unsigned char*>("token-issued leaf"), -1,
                -1, 0),
            1);
  ASSERT_EQ(
      X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca_->cert.get())),
      1);
  ASSERT_NE(X509_gmtime_adj(X509_getm_notBefore(leaf.get()), -60), nullptr);
  ASSERT_NE(X509_gmtime_adj(X509_getm_notAfter(leaf.get()), 3600), nullptr);
  ASSERT_EQ(X509_set_pubkey(leaf.get(), leaf_key.get()), 1);
  ASSERT_GT(X509_sign(leaf.get(), ca_key->key(), EVP_sha256()), 0)
      << DrainOpenSslErrors();
  EXPECT_EQ(X509_verify(leaf.get(), X509_get0_pubkey(ca_->cert.get())), 1);

  const std::string leaf_path = dir_->Sub("leaf.pem");
  imab::testing::WriteFile(leaf_path, CertPem(leaf.get()));
  imab::testing::CommandResult r =
      RunShell("openssl verify -CAfile " + ShellQuote(ca_->cert_path) + " " +
               ShellQuote(leaf_path));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(Pkcs11KeyTest, WrongPinFailsWithoutEchoingIt) {
  ExpectOpenError("pkcs11:token=imab-test;object=rsa?pin-value=8765",
                  ErrorCode::kInvalidArgument,
                  "pkcs11:token=imab-test;object=rsa: login failed", "8765");
  const std::string pin_file = dir_->Sub("wrong-pin");
  imab::testing::WriteFile(pin_file, "8766\n");
  ExpectOpenError(
      "pkcs11:token=imab-test;object=rsa?pin-source=file:" + pin_file,
      ErrorCode::kInvalidArgument, "login failed", "8766");
  ExpectOpenError("pkcs11:token=imab-test;object=rsa?pin-source=file:" +
                      dir_->Sub("no-such-pin-file"),
                  ErrorCode::kIo, "cannot open pin-source", "1234");
  // The right PIN still works: the failures did not lock the token.
  EXPECT_NE(OpenKey(hsm_->Uri("rsa")), nullptr);
}

TEST_F(Pkcs11KeyTest, NoPinWhenTokenNeedsOne) {
  ExpectOpenError("pkcs11:token=imab-test;object=rsa",
                  ErrorCode::kInvalidArgument, "needs a PIN", "1234");
}

TEST_F(Pkcs11KeyTest, UnknownObjectTokenOrAmbiguousKey) {
  ExpectOpenError("pkcs11:token=imab-test;object=nope?pin-value=1234",
                  ErrorCode::kInvalidArgument,
                  "pkcs11:token=imab-test;object=nope: no such private key "
                  "in token 'imab-test'",
                  "1234");
  ExpectOpenError("pkcs11:token=imab-test;object=rsa;id=%02?pin-value=1234",
                  ErrorCode::kInvalidArgument, "no such private key", "1234");
  ExpectOpenError("pkcs11:token=rel;object=k?pin-value=1234",
                  ErrorCode::kInvalidArgument,
                  "pkcs11:token=rel;object=k: token not found", "1234");
  ExpectOpenError("pkcs11:token=imab-test?pin-value=1234",
                  ErrorCode::kInvalidArgument,
                  "4 private keys match in token 'imab-test'", "1234");
}

TEST_F(Pkcs11KeyTest, RefusesCertificateOfAnotherKey) {
  // Same type, other key: caught by the probe signature.
  Result<std::unique_ptr<DigestSigner>> s =
      LoadPkcs11DigestSigner(hsm_->Uri("rsa"), ca_->cert_path, kModule);
  ASSERT_THAT(s, StatusIs(ErrorCode::kInvalidArgument,
                          HasSubstr("does not match certificate")));
  EXPECT_THAT(s.error().message, Not(HasSubstr("1234")));
  // Other type.
  s = LoadPkcs11DigestSigner(hsm_->Uri("ec"), rsa_->cert_path, kModule);
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message, HasSubstr("does not match certificate"));
  // A missing certificate file.
  s = LoadPkcs11DigestSigner(hsm_->Uri("ec"), dir_->Sub("none.pem"), kModule);
  ASSERT_FALSE(s.has_value());
}

// The signer shares its key, so one open token key serves both CMS and IMA
// signing, and the key outlives the caller's handle.
TEST_F(Pkcs11KeyTest, SignerSharesOpenKey) {
  std::shared_ptr<Pkcs11Key> key = OpenKey(hsm_->Uri("ec"));
  ASSERT_NE(key, nullptr);
  Result<std::unique_ptr<DigestSigner>> s =
      MakePkcs11DigestSigner(key, ec_->cert_path);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  key.reset();
  std::vector<uint8_t> digest = DigestOf(HashAlgo::kSha256, "shared");
  Result<std::vector<uint8_t>> sig = (*s)->Sign(HashAlgo::kSha256, digest);
  ASSERT_TRUE(sig.has_value()) << sig.error().message;
  EXPECT_TRUE(VerifyDigestSignature(X509_get0_pubkey(ec_->cert.get()),
                                    HashAlgo::kSha256, digest, *sig)
                  .ok());
}

// Keys of one module coexist only as siblings: closing the first must not
// finalize the module or close the sessions under the second.
TEST_F(Pkcs11KeyTest, SiblingKeysShareTheModule) {
  std::unique_ptr<Pkcs11Key> first = OpenKey(hsm_->Uri("rsa"));
  ASSERT_NE(first, nullptr);
  // Already logged in: no PIN needed for the sibling.
  Result<std::unique_ptr<Pkcs11Key>> second =
      first->OpenSibling("pkcs11:token=imab-test;object=ec");
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(&first->mutex(), &(*second)->mutex());
  Result<std::unique_ptr<Pkcs11Key>> other_module = first->OpenSibling(
      "pkcs11:object=ec?module-path=/usr/lib/other.so&pin-value=1234");
  ASSERT_FALSE(other_module.has_value());
  EXPECT_THAT(other_module.error().message, Not(HasSubstr("1234")));
  first.reset();
  Result<std::unique_ptr<DigestSigner>> s =
      MakePkcs11DigestSigner(std::move(*second), ec_->cert_path);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  std::vector<uint8_t> digest = DigestOf(HashAlgo::kSha384, "sibling");
  Result<std::vector<uint8_t>> sig = (*s)->Sign(HashAlgo::kSha384, digest);
  ASSERT_TRUE(sig.has_value()) << sig.error().message;
  EXPECT_TRUE(VerifyDigestSignature(X509_get0_pubkey(ec_->cert.get()),
                                    HashAlgo::kSha384, digest, *sig)
                  .ok());
}

}  // namespace
}  // namespace imab::builder
