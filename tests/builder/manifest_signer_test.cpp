#include "builder/manifest_signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "builder/signing_identity.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::AppendCertPem;
using imab::testing::CertOptions;
using imab::testing::KeyType;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::ReadFile;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using imab::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kManifest[] = "imabundle-manifest 2\nkind full\nend\n";

CertOptions Leaf(KeyType type) {
  CertOptions o;
  o.common_name = "Release Leaf";
  o.key_type = type;
  return o;
}

CertOptions Ca(const std::string& cn) {
  CertOptions o;
  o.common_name = cn;
  o.is_ca = true;
  return o;
}

void ExpectOneLine(const Error& e, const std::string& needle) {
  EXPECT_THAT(e.message, Not(HasSubstr("\n")));
  EXPECT_THAT(e.message, HasSubstr(needle));
}

class ManifestSignerTest : public ::testing::Test {
 protected:
  std::string Dir() const { return dir_.path().string(); }

  // Signs kManifest and writes manifest + manifest.sig into the folder.
  std::vector<uint8_t> SignToFiles(const SigningIdentity& id) {
    auto der = SignManifest(kManifest, id);
    EXPECT_TRUE(der.has_value()) << der.error().message;
    if (!der.has_value()) {
      return {};
    }
    WriteFile(dir_.Sub("manifest"), kManifest);
    WriteFile(dir_.Sub("manifest.sig"), std::string(der->begin(), der->end()));
    return *der;
  }

  // The exact command FORMAT.md §5 promises works on any bundle.
  int OpenSslVerify(const std::string& ca_path) {
    std::string cmd = "openssl cms -verify -binary -inform DER -in '" +
                      dir_.Sub("manifest.sig") + "' -content '" +
                      dir_.Sub("manifest") + "' -CAfile '" + ca_path +
                      "' -purpose any -out /dev/null 2>/dev/null";
    return std::system(cmd.c_str());
  }

  TempDir dir_;
};

TEST_F(ManifestSignerTest, RsaLeafUnderRootVerifiesWithOpenSslCli) {
  CertOptions root_opts = Ca("Root");
  root_opts.key_type = KeyType::kRsa2048;
  TestIdentity root = MakeRootCa(Dir(), "root", root_opts);
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kRsa2048));
  auto id = LoadSigningIdentity(leaf.key_path, leaf.cert_path, "");
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(sk_X509_num(id->chain.get()), 0);
  SignToFiles(*id);
  EXPECT_EQ(OpenSslVerify(root.cert_path), 0);
}

TEST_F(ManifestSignerTest, EcLeafUnderIntermediateVerifiesWithOpenSslCli) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity inter = MakeIssued(Dir(), "inter", root, Ca("Intermediate"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", inter, Leaf(KeyType::kEcP256));
  AppendCertPem(dir_.Sub("chain.pem"), inter.cert.get());
  auto id =
      LoadSigningIdentity(leaf.key_path, leaf.cert_path, dir_.Sub("chain.pem"));
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(sk_X509_num(id->chain.get()), 1);
  SignToFiles(*id);
  EXPECT_EQ(OpenSslVerify(root.cert_path), 0);
  // The CLI itself rejects a changed manifest, so the check above means
  // something.
  WriteFile(dir_.Sub("manifest"), std::string(kManifest) + "x");
  EXPECT_NE(OpenSslVerify(root.cert_path), 0);
}

TEST_F(ManifestSignerTest, SignatureHasTheShapeOfFormatSection5) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity inter = MakeIssued(Dir(), "inter", root, Ca("Intermediate"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", inter, Leaf(KeyType::kEcP384));
  AppendCertPem(dir_.Sub("chain.pem"), inter.cert.get());
  auto id =
      LoadSigningIdentity(leaf.key_path, leaf.cert_path, dir_.Sub("chain.pem"));
  ASSERT_TRUE(id.has_value()) << id.error().message;
  std::vector<uint8_t> der = SignToFiles(*id);
  ASSERT_FALSE(der.empty());

  const unsigned char* p = der.data();
  Ptr<CMS_ContentInfo> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(cms, nullptr);
  EXPECT_EQ(p, der.data() + der.size());
  EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
  EXPECT_EQ(CMS_is_detached(cms.get()), 1);
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
  ASSERT_EQ(sk_CMS_SignerInfo_num(signers), 1);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  X509_ALGOR* dig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, nullptr);
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, dig);
  // P-384's default digest would be SHA-384; SHA-256 is pinned.
  EXPECT_EQ(OBJ_obj2nid(obj), NID_sha256);
  EXPECT_GT(CMS_signed_get_attr_count(si), 0);
  X509StackPtr certs(CMS_get1_certs(cms.get()));
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(sk_X509_num(certs.get()), 2);  // signer + intermediate
}

TEST_F(ManifestSignerTest, DerCertificateIsAccepted) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kEcP256));
  std::string cmd = "openssl x509 -in '" + leaf.cert_path +
                    "' -outform DER -out '" + dir_.Sub("leaf.der") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto id = LoadSigningIdentity(leaf.key_path, dir_.Sub("leaf.der"), "");
  ASSERT_TRUE(id.has_value()) << id.error().message;
  SignToFiles(*id);
  EXPECT_EQ(OpenSslVerify(root.cert_path), 0);
}

TEST_F(ManifestSignerTest, KeyNotMatchingCertificateIsRejected) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kEcP256));
  TestIdentity other = MakeIssued(Dir(), "other", root, Leaf(KeyType::kEcP256));
  auto id = LoadSigningIdentity(other.key_path, leaf.cert_path, "");
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
  ExpectOneLine(id.error(), other.key_path +
                                ": private key does not match certificate " +
                                leaf.cert_path);
  EXPECT_EQ(ERR_peek_error(), 0u);  // queue drained
}

TEST_F(ManifestSignerTest, EncryptedKeyIsRejectedWithoutPrompting) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kEcP256));
  std::string enc = dir_.Sub("enc.key");
  std::string cmd = "openssl pkey -in '" + leaf.key_path +
                    "' -aes256 -passout pass:x -out '" + enc + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto id = LoadSigningIdentity(enc, leaf.cert_path, "");
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kInvalidArgument);
  ExpectOneLine(id.error(), enc + ": private key is encrypted");
}

TEST_F(ManifestSignerTest, MissingFilesAreIoErrorsNamingTheFile) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kEcP256));
  std::string missing = dir_.Sub("missing");
  struct Case {
    std::string key, cert, chain;
  };
  std::vector<Case> cases = {{missing, leaf.cert_path, ""},
                             {leaf.key_path, missing, ""},
                             {leaf.key_path, leaf.cert_path, missing},
                             {Dir(), leaf.cert_path, ""},
                             {leaf.key_path, Dir(), ""}};
  for (const Case& c : cases) {
    auto id = LoadSigningIdentity(c.key, c.cert, c.chain);
    ASSERT_THAT(id, StatusIs(ErrorCode::kIo, Not(HasSubstr("\n"))));
  }
}

TEST_F(ManifestSignerTest, GarbageFilesAreRejectedWithoutLeakingKeyBytes) {
  TestIdentity root = MakeRootCa(Dir(), "root", Ca("Root"));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root, Leaf(KeyType::kEcP256));
  std::string garbage = dir_.Sub("garbage");
  WriteFile(garbage, "not a key or certificate\n");
  std::string empty_chain = dir_.Sub("empty.pem");
  WriteFile(empty_chain, "");

  auto bad_key = LoadSigningIdentity(garbage, leaf.cert_path, "");
  ASSERT_FALSE(bad_key.has_value());
  ExpectOneLine(bad_key.error(), garbage + ": not an unencrypted PEM");

  // The key passed as certificate: the message must not echo its bytes.
  auto key_as_cert = LoadSigningIdentity(leaf.key_path, leaf.key_path, "");
  ASSERT_FALSE(key_as_cert.has_value());
  EXPECT_EQ(key_as_cert.error().code, ErrorCode::kInvalidArgument);
  std::string key_pem = ReadFile(leaf.key_path);
  std::string body = key_pem.substr(key_pem.find('\n') + 1, 40);
  EXPECT_THAT(key_as_cert.error().message, Not(HasSubstr(body)));

  auto bad_cert = LoadSigningIdentity(leaf.key_path, garbage, "");
  ASSERT_FALSE(bad_cert.has_value());
  ExpectOneLine(bad_cert.error(), garbage + ": neither a PEM nor a DER");

  auto no_chain =
      LoadSigningIdentity(leaf.key_path, leaf.cert_path, empty_chain);
  ASSERT_FALSE(no_chain.has_value());
  EXPECT_EQ(no_chain.error().code, ErrorCode::kInvalidArgument);
  ExpectOneLine(no_chain.error(), empty_chain + ": no PEM certificate found");
}

TEST_F(ManifestSignerTest, IncompleteIdentityIsRejected) {
  SigningIdentity empty;
  auto der = SignManifest(kManifest, empty);
  ASSERT_FALSE(der.has_value());
  EXPECT_EQ(der.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace imab::builder
