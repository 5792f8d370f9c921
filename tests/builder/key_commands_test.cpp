// Key commands: the certificates they write (checked with the openssl CLI
// and, where the kernel allows, a restricted keyring), what they refuse,
// and the verdicts of `show`.
#include "builder/key_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "builder/key_show.h"
#include "common/read/keyid.h"
#include "common/read/x509_util.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::HaveTool;
using imab::testing::ReadFile;
using imab::testing::RunShell;
using imab::testing::ShellQuote;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// `openssl x509 -text` of a PEM or DER certificate.
std::string CertText(const std::string& path) {
  const bool der = path.size() > 4 && path.ends_with(".der");
  auto r = RunShell("openssl x509 -noout -text -in " + ShellQuote(path) +
                    (der ? " -inform DER" : ""));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

uint32_t CertKeyId(const std::string& path) {
  auto cert = LoadCertificate(path);
  EXPECT_TRUE(cert.has_value()) << cert.error().message;
  if (!cert.has_value()) {
    return 0;
  }
  auto keyid = KeyIdFromCertificate(cert->get());
  EXPECT_TRUE(keyid.has_value());
  return keyid.has_value() ? *keyid : 0;
}

// Runs an openssl command line; fails the test when it fails.
void Openssl(const std::string& args) {
  auto r = RunShell("openssl " + args);
  ASSERT_EQ(r.exit_code, 0) << "openssl " << args << "\n" << r.err;
}

class KeyCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    CreateCaOptions ca;
    ca.out_key = Path("ca.key");
    ca.out_cert = Path("ca.pem");
    ca.subject = "/O=Acme/CN=IMA CA";
    ca.type = "ec:p256";  // fast; the key type has its own test
    auto created = CreateCa(ca);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    CreateSigningOptions s = SigningOptions("signing");
    auto signing = CreateSigning(s);
    ASSERT_TRUE(signing.has_value()) << signing.error().message;
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::string Path(const std::string& name) { return dir_->Sub(name); }

  // Options for a signing cert NAME.key/NAME.pem issued by the suite CA.
  static CreateSigningOptions SigningOptions(const std::string& name) {
    CreateSigningOptions s;
    s.ca_key = Path("ca.key");
    s.ca_cert = Path("ca.pem");
    s.out_key = Path(name + ".key");
    s.out_cert = Path(name + ".pem");
    s.subject = "/O=Acme/CN=IMA signing " + name;
    s.type = "ec:p256";
    return s;
  }

  static ShowReport Show(ShowOptions o) {
    auto r = ShowKey(o);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? *r : ShowReport{};
  }

  static std::unique_ptr<TempDir> dir_;
};

std::unique_ptr<TempDir> KeyCommandsTest::dir_;

// --- parsing ---------------------------------------------------------------

TEST(KeyAlgorithmTest, ParsesTheFiveKernelTypes) {
  EXPECT_EQ(*ParseKeyAlgorithm("rsa:2048"), KeyAlgorithm::kRsa2048);
  EXPECT_EQ(*ParseKeyAlgorithm("rsa:3072"), KeyAlgorithm::kRsa3072);
  EXPECT_EQ(*ParseKeyAlgorithm("rsa:4096"), KeyAlgorithm::kRsa4096);
  EXPECT_EQ(*ParseKeyAlgorithm("ec:p256"), KeyAlgorithm::kEcP256);
  EXPECT_EQ(*ParseKeyAlgorithm("ec:p384"), KeyAlgorithm::kEcP384);
  for (const char* bad :
       {"", "rsa", "rsa:1024", "ec:p521", "RSA:2048", "ed25519", "rsa:2048 "}) {
    auto r = ParseKeyAlgorithm(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("ec:p384"));
  }
}

TEST(SubjectTest, ParsesSlashAndCommaForms) {
  using Parts = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*ParseSubject("/O=Acme/CN=IMA signing 2026"),
            (Parts{{"O", "Acme"}, {"CN", "IMA signing 2026"}}));
  EXPECT_EQ(*ParseSubject("O=Acme, CN=IMA signing 2026"),
            (Parts{{"O", "Acme"}, {"CN", "IMA signing 2026"}}));
  EXPECT_EQ(*ParseSubject("/CN=a\\/b"), (Parts{{"CN", "a/b"}}));
  EXPECT_EQ(*ParseSubject("CN=a\\, b"), (Parts{{"CN", "a, b"}}));
  EXPECT_EQ(*ParseSubject("/CN=x=y"), (Parts{{"CN", "x=y"}}));
}

TEST(SubjectTest, RefusesMalformedSubjects) {
  for (const char* bad : {"", "/", "/CN", "/CN=", "/=x", "CN=a,,O=b",
                          "/O=Acme/", "CN=a/O=b, junk"}) {
    auto r = ParseSubject(bad);
    EXPECT_FALSE(r.has_value()) << bad;
  }
  EXPECT_FALSE(ParseSubject(std::string(2000, 'a')).has_value());
}

// --- create-ca -------------------------------------------------------------

TEST_F(KeyCommandsTest, CaHasCaExtensionsAndPrivateKeyFile) {
  const std::string text = CertText(Path("ca.pem"));
  EXPECT_THAT(text, HasSubstr("CA:TRUE"));
  EXPECT_THAT(text, HasSubstr("Certificate Sign, CRL Sign"));
  EXPECT_THAT(text, HasSubstr("X509v3 Subject Key Identifier"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_THAT(text, HasSubstr("Subject: O = Acme, CN = IMA CA"));
  EXPECT_THAT(text, HasSubstr("Issuer: O = Acme, CN = IMA CA"));
  EXPECT_EQ(ModeOf(Path("ca.key")), 0600u);
  const std::string key = ReadFile(Path("ca.key"));
  EXPECT_EQ(key.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);  // PKCS#8
  EXPECT_EQ(ReadFile(Path("ca.pem")).rfind("-----BEGIN CERTIFICATE", 0), 0u);
  // Self-signed: verifies against itself.
  Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " " +
          ShellQuote(Path("ca.pem")));
}

TEST_F(KeyCommandsTest, CaReportNamesFilesAndKeyid) {
  TempDir dir;
  CreateCaOptions o;
  o.out_key = dir.Sub("root.key");
  o.out_cert = dir.Sub("root.der");
  o.subject = "O=Acme, CN=Root";
  o.type = "ec:p384";
  o.days = 10;
  auto r = CreateCa(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->keyid, CertKeyId(o.out_cert));
  EXPECT_THAT(r->report, HasSubstr(KeyIdHex(r->keyid)));
  EXPECT_THAT(r->report, HasSubstr("EC P-384"));
  EXPECT_THAT(r->report, HasSubstr("DER certificate"));
  EXPECT_THAT(r->report, Not(HasSubstr("PRIVATE")));
  // DER by name: starts with a SEQUENCE, not "-----BEGIN".
  const std::string der = ReadFile(o.out_cert);
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);
  EXPECT_THAT(CertText(o.out_cert), HasSubstr("CA:TRUE"));
}

TEST_F(KeyCommandsTest, RefusesExistingOutputsAndLeavesThemAlone) {
  TempDir dir;
  imab::testing::WriteFile(dir.Sub("taken.key"), "precious");
  CreateCaOptions o;
  o.out_key = dir.Sub("taken.key");
  o.out_cert = dir.Sub("new.pem");
  o.subject = "/CN=x";
  o.type = "ec:p256";
  auto r = CreateCa(o);
  ASSERT_THAT(r, StatusIs(ErrorCode::kInvalidArgument,
                          HasSubstr("refusing to overwrite")));
  EXPECT_EQ(ReadFile(dir.Sub("taken.key")), "precious");
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("new.pem")));

  imab::testing::WriteFile(dir.Sub("taken.pem"), "cert");
  o.out_key = dir.Sub("new.key");
  o.out_cert = dir.Sub("taken.pem");
  r = CreateCa(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("taken.pem"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("new.key")));
  EXPECT_EQ(ReadFile(dir.Sub("taken.pem")), "cert");

  o.out_cert = dir.Sub("new.key");  // same file for both
  EXPECT_FALSE(CreateCa(o).has_value());
}

TEST_F(KeyCommandsTest, UnwritableOutputLeavesNoKeyBehind) {
  TempDir dir;
  CreateCaOptions o;
  o.out_key = dir.Sub("ok.key");
  o.out_cert = dir.Sub("missing-dir/ca.pem");
  o.subject = "/CN=x";
  o.type = "ec:p256";
  auto r = CreateCa(o);
  ASSERT_THAT(r, StatusIs(ErrorCode::kIo, HasSubstr("missing-dir/ca.pem")));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));

  o.out_key = dir.Sub("missing-dir/ca.key");
  o.out_cert = dir.Sub("ok.pem");
  r = CreateCa(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_FALSE(std::filesystem::exists(o.out_cert));
}

TEST_F(KeyCommandsTest, RefusesBadTypeSubjectAndDays) {
  TempDir dir;
  CreateCaOptions o;
  o.out_key = dir.Sub("ca.key");
  o.out_cert = dir.Sub("ca.pem");
  o.subject = "/CN=x";
  o.type = "rsa:1024";
  auto r = CreateCa(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("rsa:1024"));

  o.type = "ec:p256";
  o.subject = "CN";
  r = CreateCa(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("bad subject"));

  o.subject = "/NOSUCHATTR=x";  // parses, but OpenSSL knows no such name
  r = CreateCa(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("NOSUCHATTR"));

  o.subject = "/CN=x";
  o.days = 0;
  EXPECT_FALSE(CreateCa(o).has_value());
  o.days = 40000;
  EXPECT_FALSE(CreateCa(o).has_value());
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
  EXPECT_FALSE(std::filesystem::exists(o.out_cert));
}

// --- create-signing --------------------------------------------------------

TEST_F(KeyCommandsTest, SigningCertHasKernelExtensionsAndVerifies) {
  const std::string text = CertText(Path("signing.pem"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("Digital Signature"));
  EXPECT_THAT(text, Not(HasSubstr("Certificate Sign")));
  EXPECT_THAT(text, Not(HasSubstr("Code Signing")));
  EXPECT_THAT(text, HasSubstr("X509v3 Subject Key Identifier"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_THAT(text, HasSubstr("Issuer: O = Acme, CN = IMA CA"));
  EXPECT_EQ(ModeOf(Path("signing.key")), 0600u);
  Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " " +
          ShellQuote(Path("signing.pem")));
  // AKID of the signing cert == SKID of the CA (what the kernel matches).
  auto ca = LoadCertificate(Path("ca.pem"));
  auto cert = LoadCertificate(Path("signing.pem"));
  ASSERT_TRUE(ca.has_value() && cert.has_value());
  ASSERT_NE(X509_get0_authority_key_id(cert->get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert->get()),
                                  X509_get0_subject_key_id(ca->get())),
            0);
}

TEST_F(KeyCommandsTest, SigningCertWithCodeSigningAsDer) {
  CreateSigningOptions o = SigningOptions("codesign");
  o.out_cert = Path("codesign.der");
  o.code_signing = true;
  auto r = CreateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::string text = CertText(o.out_cert);
  EXPECT_THAT(text, HasSubstr("Code Signing"));
  EXPECT_THAT(text, HasSubstr("X509v3 Extended Key Usage: critical"));
  EXPECT_EQ(r->keyid, CertKeyId(o.out_cert));
  Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " -purpose any " +
          ShellQuote(o.out_cert));
}

class SigningKeyTypeTest : public KeyCommandsTest,
                           public ::testing::WithParamInterface<const char*> {};

TEST_P(SigningKeyTypeTest, EveryKernelKeyTypePassesShow) {
  std::string type = GetParam();
  std::string name = "type-" + type.replace(type.find(':'), 1, "-");
  CreateSigningOptions o = SigningOptions(name);
  o.type = GetParam();
  auto r = CreateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " " +
          ShellQuote(o.out_cert));
  ShowOptions s;
  s.path = o.out_cert;
  s.ca_path = Path("ca.pem");
  ShowReport report = Show(s);
  EXPECT_TRUE(report.all_ok) << report.text;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, SigningKeyTypeTest,
                         ::testing::Values("rsa:2048", "rsa:3072", "rsa:4096",
                                           "ec:p256", "ec:p384"));

TEST_F(KeyCommandsTest, SigningRefusesANonCaIssuer) {
  CreateSigningOptions o = SigningOptions("bad-issuer");
  o.ca_key = Path("signing.key");
  o.ca_cert = Path("signing.pem");
  auto r = CreateSigning(o);
  ASSERT_THAT(r, StatusIs(ErrorCode::kInvalidArgument,
                          HasSubstr("signing.pem: not a CA (no keyCertSign)")));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
}

TEST_F(KeyCommandsTest, SigningRefusesAMismatchedCaKey) {
  CreateSigningOptions o = SigningOptions("mismatch");
  o.ca_key = Path("signing.key");  // a real key, but not the CA's
  auto r = CreateSigning(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("does not match"));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
}

TEST_F(KeyCommandsTest, SigningRefusesCaWithoutSkidOrCaTrue) {
  TempDir dir;
  const std::string d = dir.path().string();
  // keyCertSign but no SKID.
  Openssl(
      "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-keyout " +
      ShellQuote(d + "/noskid.key") + " -out " + ShellQuote(d + "/noskid.pem") +
      " -subj /CN=noskid -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign "
      "-addext subjectKeyIdentifier=none "
      "-addext authorityKeyIdentifier=none");
  CreateSigningOptions o = SigningOptions("x");
  o.out_key = d + "/x.key";
  o.out_cert = d + "/x.pem";
  o.ca_key = d + "/noskid.key";
  o.ca_cert = d + "/noskid.pem";
  auto r = CreateSigning(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("no subjectKeyIdentifier"));
  // keyCertSign but CA:FALSE.
  Openssl(
      "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-keyout " +
      ShellQuote(d + "/noca.key") + " -out " + ShellQuote(d + "/noca.pem") +
      " -subj /CN=noca -addext basicConstraints=critical,CA:FALSE "
      "-addext keyUsage=critical,keyCertSign");
  o.ca_key = d + "/noca.key";
  o.ca_cert = d + "/noca.pem";
  r = CreateSigning(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("not a CA"));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
}

// --- rotate-signing --------------------------------------------------------

TEST_F(KeyCommandsTest, RotateAvoidsEveryCurrentKeyid) {
  std::vector<std::string> currents = {Path("signing.pem")};
  for (const char* name : {"cur1", "cur2"}) {
    auto r = CreateSigning(SigningOptions(name));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    currents.push_back(Path(std::string(name) + ".pem"));
  }
  // A current certificate from another CA is allowed and noted.
  TempDir other;
  CreateCaOptions other_ca;
  other_ca.out_key = other.Sub("other.key");
  other_ca.out_cert = other.Sub("other.pem");
  other_ca.subject = "/CN=Other CA";
  other_ca.type = "ec:p256";
  ASSERT_TRUE(CreateCa(other_ca).has_value());
  CreateSigningOptions foreign = SigningOptions("foreign");
  foreign.ca_key = other_ca.out_key;
  foreign.ca_cert = other_ca.out_cert;
  foreign.out_cert = Path("foreign.der");
  ASSERT_TRUE(CreateSigning(foreign).has_value());
  currents.push_back(foreign.out_cert);

  std::set<uint32_t> old;
  for (const std::string& c : currents) {
    old.insert(CertKeyId(c));
  }
  for (int round = 0; round < 3; ++round) {
    RotateSigningOptions o;
    o.signing = SigningOptions("rotated" + std::to_string(round));
    o.current = currents;
    auto r = RotateSigning(o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(old.count(r->keyid), 0u);
    EXPECT_EQ(r->keyid, CertKeyId(o.signing.out_cert));
    for (uint32_t k : old) {
      EXPECT_THAT(r->report, HasSubstr(KeyIdHex(k)));
    }
    EXPECT_THAT(r->report, HasSubstr("foreign.der was not issued by"));
    EXPECT_THAT(r->report, Not(HasSubstr("cur1.pem was not issued")));
    Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " " +
            ShellQuote(o.signing.out_cert));
    old.insert(r->keyid);
    currents.push_back(o.signing.out_cert);
  }
}

TEST_F(KeyCommandsTest, CreateSigningTakesAKernelVersion) {
  CreateSigningOptions o = SigningOptions("kv-default");
  auto r = CreateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // An unknown kernel may be older than 5.13; a studied one verifies ECDSA.
  EXPECT_THAT(r->report, HasSubstr("ECDSA IMA/EVM signatures from 5.13"));
  o = SigningOptions("kv-61");
  o.kernel_version = "6.1";
  r = CreateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_THAT(r->report, Not(HasSubstr("5.13")));
  for (const char* bad : {"6", "x.y"}) {
    o = SigningOptions("kv-bad");
    o.kernel_version = bad;
    r = CreateSigning(o);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message, std::string("--kernel-version: kernel "
                                             "version \"") +
                                     bad +
                                     "\": expected MAJOR.MINOR, e.g. 6.1");
    EXPECT_FALSE(std::filesystem::exists(o.out_key));
  }
}

TEST_F(KeyCommandsTest, RotateRefusesNoCurrentAndUnreadableCurrent) {
  RotateSigningOptions o;
  o.signing = SigningOptions("rot-bad");
  auto r = RotateSigning(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  o.current = {Path("does-not-exist.pem")};
  EXPECT_FALSE(RotateSigning(o).has_value());
  EXPECT_FALSE(std::filesystem::exists(o.signing.out_key));
}

// --- create-release --------------------------------------------------------

// Without a CA, create-release makes a release CA (the anchor) and a leaf
// it issues (the signer): never one self-signed CA:TRUE signer, whose key
// would be the anchor's own (FORMAT.md §5).
TEST_F(KeyCommandsTest, ReleaseWithoutACaComesWithItsOwnReleaseCa) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("release.key");
  o.out_cert = dir.Sub("release.pem");
  o.subject = "/O=Acme/CN=Release 1";
  auto r = CreateRelease(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_THAT(r->report, HasSubstr("EC P-256"));  // the default
  EXPECT_THAT(r->report,
              HasSubstr("devices trust " + dir.Sub("release-ca.pem")));
  const std::string text = CertText(o.out_cert);
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("Digital Signature"));
  EXPECT_THAT(text, HasSubstr("Code Signing"));
  EXPECT_THAT(text, HasSubstr("Issuer: O = Acme, CN = Release 1 CA"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_EQ(ModeOf(o.out_key), 0600u);
  const std::string ca = dir.Sub("release-ca.pem");
  const std::string ca_text = CertText(ca);
  EXPECT_THAT(ca_text, HasSubstr("CA:TRUE"));
  EXPECT_THAT(ca_text, HasSubstr("Certificate Sign"));
  EXPECT_THAT(ca_text, Not(HasSubstr("Digital Signature")));
  EXPECT_EQ(ModeOf(dir.Sub("release-ca.key")), 0600u);
  const std::string msg = dir.Sub("msg");
  const std::string sig = dir.Sub("msg.p7s");
  imab::testing::WriteFile(msg, "manifest bytes\n");
  Openssl("cms -sign -binary -in " + ShellQuote(msg) + " -signer " +
          ShellQuote(o.out_cert) + " -inkey " + ShellQuote(o.out_key) +
          " -outform DER -out " + ShellQuote(sig));
  Openssl("cms -verify -binary -inform DER -in " + ShellQuote(sig) +
          " -content " + ShellQuote(msg) + " -CAfile " + ShellQuote(ca) +
          " -purpose any -out /dev/null");
}

TEST_F(KeyCommandsTest, ReleaseCaFilesAndSubjectCanBeNamed) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("signer");  // no extension: "-ca" is appended
  o.out_cert = dir.Sub("signer.der");
  o.out_ca_cert = dir.Sub("anchor.pem");
  o.ca_subject = "/O=Acme/CN=Acme anchor";
  o.subject = "/O=Acme/CN=Acme signer";
  o.type = "ec:p384";
  auto r = CreateRelease(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("signer-ca")));
  EXPECT_THAT(CertText(o.out_ca_cert),
              HasSubstr("Subject: O = Acme, CN = Acme anchor"));
  EXPECT_THAT(CertText(o.out_cert),
              HasSubstr("Issuer: O = Acme, CN = Acme anchor"));
  EXPECT_THAT(CertText(o.out_ca_cert), HasSubstr("P-384"));
  // A subject without CN gets one for its CA; "/" in a value survives.
  CreateReleaseOptions no_cn;
  no_cn.out_key = dir.Sub("o.key");
  no_cn.out_cert = dir.Sub("o.pem");
  no_cn.subject = "/O=Acme\\/Europe";
  ASSERT_TRUE(CreateRelease(no_cn).has_value());
  EXPECT_THAT(CertText(dir.Sub("o-ca.pem")),
              HasSubstr("Subject: O = Acme/Europe, CN = release CA"));
}

TEST_F(KeyCommandsTest, ReleaseWritesAllFourFilesOrNone) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("release.key");
  o.out_cert = dir.Sub("release.pem");
  o.subject = "/CN=r";
  imab::testing::WriteFile(dir.Sub("release-ca.pem"), "in the way");
  auto r = CreateRelease(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, dir.Sub("release-ca.pem") +
                                   ": already exists; refusing to overwrite");
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
  EXPECT_FALSE(std::filesystem::exists(o.out_cert));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("release-ca.key")));
  // The CA files may not be the signer's.
  o.out_ca_cert = o.out_cert;
  r = CreateRelease(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("two outputs need different files"));
}

TEST_F(KeyCommandsTest, ReleaseCaOptionsNeedNoGivenCa) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("r.key");
  o.out_cert = dir.Sub("r.pem");
  o.subject = "/CN=r";
  o.ca_key = Path("ca.key");
  o.ca_cert = Path("ca.pem");
  o.ca_subject = "/CN=unused";
  auto r = CreateRelease(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("describe a new release CA"));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
}

TEST_F(KeyCommandsTest, CaIssuedReleaseIsNotACa) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("release.key");
  o.out_cert = dir.Sub("release.pem");
  o.subject = "/CN=Release 2";
  o.type = "rsa:2048";
  o.ca_key = Path("ca.key");
  o.ca_cert = Path("ca.pem");
  auto r = CreateRelease(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::string text = CertText(o.out_cert);
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("Digital Signature"));
  EXPECT_THAT(text, HasSubstr("Code Signing"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("release-ca.pem")));
  Openssl("verify -CAfile " + ShellQuote(Path("ca.pem")) + " " +
          ShellQuote(o.out_cert));
  const std::string msg = dir.Sub("msg");
  const std::string sig = dir.Sub("msg.p7s");
  imab::testing::WriteFile(msg, "manifest bytes\n");
  Openssl("cms -sign -binary -in " + ShellQuote(msg) + " -signer " +
          ShellQuote(o.out_cert) + " -inkey " + ShellQuote(o.out_key) +
          " -outform DER -out " + ShellQuote(sig));
  Openssl("cms -verify -binary -inform DER -in " + ShellQuote(sig) +
          " -content " + ShellQuote(msg) + " -CAfile " +
          ShellQuote(Path("ca.pem")) + " -purpose any -out /dev/null");
}

TEST_F(KeyCommandsTest, ReleaseRefusesHalfACaAndANonCa) {
  TempDir dir;
  CreateReleaseOptions o;
  o.out_key = dir.Sub("r.key");
  o.out_cert = dir.Sub("r.pem");
  o.subject = "/CN=r";
  o.ca_key = Path("ca.key");
  EXPECT_FALSE(CreateRelease(o).has_value());
  o.ca_cert = Path("signing.pem");
  o.ca_key = Path("signing.key");
  auto r = CreateRelease(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("not a CA"));
  EXPECT_FALSE(std::filesystem::exists(o.out_key));
}

// --- show ------------------------------------------------------------------

TEST_F(KeyCommandsTest, ShowGoodSigningCert) {
  ShowOptions o;
  o.path = Path("signing.pem");
  o.ca_path = Path("ca.pem");
  o.set = {Path("ca.pem"), Path("signing.pem")};  // itself is no collision
  ShowReport r = Show(o);
  EXPECT_TRUE(r.all_ok) << r.text;
  const std::string keyid = KeyIdHex(CertKeyId(o.path));
  for (const std::string& want :
       {"keyid:       " + keyid,
        std::string("key:         EC P-256"),
        std::string("subject:     O=Acme, CN=IMA signing signing"),
        std::string("issuer:      O=Acme, CN=IMA CA"),
        std::string("ca_lookup:   AKID keyid"),
        std::string("kernel:      unknown (rules of every studied kernel"),
        std::string("validity_times:    ok"),
        std::string("usage_encoding:    ok"),
        std::string("akid_issuer_names: ok"),
        std::string("signature_algorithm: ok"),
        std::string("self_signature:    ok"),
        std::string("chains_to_ca:      ok"),
        std::string("digital_signature: ok"),
        std::string("not_ca:            ok"),
        std::string("key_type:          ok"),
        std::string("has_skid:          ok"),
        std::string("validity_dates:    ok"),
        std::string("skid_is_hash:      ok"),
        std::string("keyid_unique:      ok"),
        std::string("spki_sha256:"),
        std::string("not_before:"),
        std::string("Z\n")}) {
    EXPECT_THAT(r.text, HasSubstr(want)) << want << "\n" << r.text;
  }
  // The SPKI digest agrees with openssl's.
  auto spki = RunShell("openssl x509 -in " + ShellQuote(o.path) +
                       " -pubkey -noout | openssl pkey -pubin -outform DER"
                       " | sha256sum");
  ASSERT_EQ(spki.exit_code, 0);
  EXPECT_THAT(r.text, HasSubstr(spki.out.substr(0, 64)));

  o.json = true;
  r = Show(o);
  EXPECT_EQ(r.text.front(), '{');
  EXPECT_THAT(r.text, HasSubstr("\"keyid\": \"" + keyid + "\""));
  EXPECT_THAT(r.text, HasSubstr("\"rule_chains_to_ca\": \"ok\""));
  EXPECT_THAT(r.text, HasSubstr("\"all_ok\": true}"));
  if (HaveTool("python3")) {
    const std::string json_file = dir_->Sub("show.json");
    imab::testing::WriteFile(json_file, r.text);
    auto py = RunShell(
        "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
        " assert d[\"all_ok\"] is True' " +
        ShellQuote(json_file));
    EXPECT_EQ(py.exit_code, 0) << py.err;
  }
}

TEST_F(KeyCommandsTest, ShowSelfSignedFailsChain) {
  TempDir dir;
  CreateCaOptions rel;
  rel.out_key = dir.Sub("self.key");
  rel.out_cert = dir.Sub("self.pem");
  rel.subject = "/CN=self \"quoted\"";
  rel.type = "ec:p256";
  ASSERT_TRUE(CreateCa(rel).has_value());
  ShowOptions o;
  o.path = rel.out_cert;
  o.ca_path = Path("ca.pem");
  ShowReport r = Show(o);
  EXPECT_FALSE(r.all_ok);
  // Its AKID names its own key, which no CA given has.
  EXPECT_THAT(r.text,
              HasSubstr("chains_to_ca:      FAIL: no kernel CA's "
                        "subjectKeyIdentifier is its authorityKeyIdentifier"));
  o.ca_path.clear();
  r = Show(o);
  EXPECT_THAT(r.text, HasSubstr("chains_to_ca:      FAIL: self-signed"));
  o.json = true;
  r = Show(o);
  // OpenSSL's one-line form escapes the quote (\"), JSON escapes both.
  EXPECT_THAT(r.text, HasSubstr("CN=self \\\\\\\"quoted"));
  if (HaveTool("python3")) {
    const std::string json_file = dir.Sub("show.json");
    imab::testing::WriteFile(json_file, r.text);
    auto py = RunShell(
        "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
        " assert d[\"subject\"] == \"CN=self \\\\\\\"quoted\\\\\\\"\"' " +
        ShellQuote(json_file));
    EXPECT_EQ(py.exit_code, 0) << py.err;
  }
}

TEST_F(KeyCommandsTest, ShowCaAsSigningCertFailsNotCaUnlessOldKernel) {
  ShowOptions o;
  o.path = Path("ca.pem");
  o.ca_path = Path("ca.pem");
  ShowReport r = Show(o);
  EXPECT_FALSE(r.all_ok);
  EXPECT_THAT(r.text,
              HasSubstr("not_ca:            FAIL: basicConstraints CA:TRUE "
                        "(rules of kernel 6.12 and later; --kernel-version "
                        "6.1 targets an older kernel)"));
  EXPECT_THAT(r.text, HasSubstr("digital_signature: FAIL: keyUsage lacks "
                                "digitalSignature"));
  // 6.1 has neither rule, nor has a kernel before 5.14 (a profile listing
  // xattrs); the CA's own signature chains.
  for (auto [profile, version, label] :
       {std::tuple<std::string, std::string, std::string>{
            "", "5.15", "5.15 (rules of kernel 6.1)"},
        {"le64:security.selinux,security.ima", "",
         "before 5.14 (profile le64:security.selinux,security.ima)"},
        {"be32", "6.1.0-13-amd64", "6.1"}}) {
    o.kernel_profile = profile;
    o.kernel_version = version;
    r = Show(o);
    EXPECT_TRUE(r.all_ok) << r.text;
    EXPECT_THAT(r.text,
                HasSubstr("not_ca:            not enforced by kernel " + label +
                          ": basicConstraints CA:TRUE; kernel 6.12 and later "
                          "refuses it"));
    EXPECT_THAT(r.text, HasSubstr("kernel:      " + label + "\n"));
  }
  // Between the studied kernels both rule sets hold.
  o.kernel_profile = "le64";
  o.kernel_version = "6.6";
  r = Show(o);
  EXPECT_FALSE(r.all_ok);
  EXPECT_THAT(r.text,
              HasSubstr("not_ca:            FAIL: basicConstraints CA:TRUE "
                        "(rules of kernel 6.12 and later, applied to 6.6"));
  o.kernel_version = "6.12";
  r = Show(o);
  EXPECT_THAT(r.text,
              HasSubstr("not_ca:            FAIL: basicConstraints CA:TRUE "
                        "(rules of kernel 6.12 and later)\n"));
}

TEST_F(KeyCommandsTest, ShowRefusesBadProfileVersionAndFiles) {
  ShowOptions o;
  o.path = Path("signing.pem");
  o.kernel_version = "six";
  EXPECT_FALSE(ShowKey(o).has_value());
  o.kernel_version = "";
  o.kernel_profile = "mips";
  EXPECT_FALSE(ShowKey(o).has_value());
  o.kernel_profile = "";
  o.ca_path = Path("nope.pem");
  EXPECT_FALSE(ShowKey(o).has_value());
  o.ca_path = "";
  o.path = Path("nope.pem");
  EXPECT_FALSE(ShowKey(o).has_value());
}

class ShowOpensslMadeTest : public KeyCommandsTest {
 protected:
  // Issues a certificate for a fresh P-256 key from the suite CA with the
  // given extension lines (openssl x509 -req -extfile).
  std::string Issue(const std::string& name, const std::string& ext) {
    const std::string d = dir_->path().string();
    const std::string ext_file = d + "/" + name + ".ext";
    imab::testing::WriteFile(ext_file, ext);
    Openssl(
        "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout " +
        ShellQuote(d + "/" + name + ".key") + " -out " +
        ShellQuote(d + "/" + name + ".csr") + " -subj /CN=" + name);
    Openssl("x509 -req -in " + ShellQuote(d + "/" + name + ".csr") + " -CA " +
            ShellQuote(Path("ca.pem")) + " -CAkey " +
            ShellQuote(Path("ca.key")) + " -days 30 -extfile " +
            ShellQuote(ext_file) + " -out " +
            ShellQuote(d + "/" + name + ".pem"));
    return d + "/" + name + ".pem";
  }
};

TEST_F(ShowOpensslMadeTest, NoDigitalSignature) {
  const std::string cert =
      Issue("nods",
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,keyEncipherment\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  ShowOptions o;
  o.path = cert;
  o.ca_path = Path("ca.pem");
  ShowReport r = Show(o);
  EXPECT_FALSE(r.all_ok);
  EXPECT_THAT(r.text, HasSubstr("digital_signature: FAIL: keyUsage lacks"));
  EXPECT_THAT(r.text, HasSubstr("chains_to_ca:      ok"));
  EXPECT_THAT(r.text, HasSubstr("not_ca:            ok"));

  const std::string no_ku =
      Issue("noku",
            "basicConstraints=critical,CA:FALSE\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  o.path = no_ku;
  r = Show(o);
  EXPECT_THAT(r.text,
              HasSubstr("digital_signature: FAIL: no keyUsage extension"));
}

TEST_F(ShowOpensslMadeTest, NoAkid) {
  const std::string cert =
      Issue("noakid",
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=none\n");
  ShowOptions o;
  o.path = cert;
  o.ca_path = Path("ca.pem");
  // The kernel then finds the CA by the certificate's issuer name.
  ShowReport r = Show(o);
  EXPECT_TRUE(r.all_ok) << r.text;
  EXPECT_THAT(r.text, HasSubstr("ca_lookup:   issuer name (no AKID)"));
  EXPECT_THAT(r.text, HasSubstr("chains_to_ca:      ok"));
}

TEST_F(ShowOpensslMadeTest, AkidByIssuerAndSerial) {
  const std::string cert = Issue(
      "akid-issuer",
      "basicConstraints=critical,CA:FALSE\n"
      "keyUsage=critical,digitalSignature\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=issuer:always\n");
  ShowOptions o;
  o.path = cert;
  o.ca_path = Path("ca.pem");
  ShowReport r = Show(o);
  EXPECT_TRUE(r.all_ok) << r.text;
  EXPECT_THAT(r.text, HasSubstr("ca_lookup:   AKID issuer+serial"));
  // A certificate with that issuer but another serial is not that CA.
  o.ca_path = Path("signing.pem");
  r = Show(o);
  EXPECT_THAT(r.text,
              HasSubstr("chains_to_ca:      FAIL: no kernel CA has the serial "
                        "number and issuer"));
}

TEST_F(ShowOpensslMadeTest, ValidityDatesAreNotedNotFailed) {
  imab::testing::CertOptions past;
  past.common_name = "expired signing";
  past.not_before_offset = -7200;
  past.not_after_offset = -3600;
  past.basic_constraints = "critical,CA:FALSE";
  past.key_usage = "critical,digitalSignature";
  imab::testing::TestIdentity old =
      imab::testing::MakeRootCa(dir_->path().string(), "old", past);
  ShowOptions o;
  o.path = old.cert_path;
  ShowReport r = Show(o);
  EXPECT_THAT(r.text,
              HasSubstr("validity_dates:    not enforced by kernel unknown "
                        "(rules of every studied kernel: 6.1 and 6.12): "
                        "expired "));
  EXPECT_THAT(r.text,
              HasSubstr("; no studied kernel checks the validity dates of "
                        ".ima/.evm keys\n"));
}

TEST_F(ShowOpensslMadeTest, NoSkidAndForeignSkid) {
  std::string cert =
      Issue("noskid",
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "subjectKeyIdentifier=none\nauthorityKeyIdentifier=keyid\n");
  ShowOptions o;
  o.path = cert;
  ShowReport r = Show(o);
  EXPECT_FALSE(r.all_ok);
  EXPECT_THAT(r.text, HasSubstr("has_skid:          FAIL"));
  cert = Issue("fixedskid",
               "basicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature\n"
               "subjectKeyIdentifier=1122334455667788\n"
               "authorityKeyIdentifier=keyid\n");
  o.path = cert;
  r = Show(o);
  EXPECT_THAT(r.text, HasSubstr("skid_is_hash:      FAIL"));
}

// A current certificate 6.1 loads but 6.12 refuses is worth knowing about
// before rotating; it is a note, not an error (it is already in use).
TEST_F(ShowOpensslMadeTest, RotateNotesACurrentCertificateTheTargetRefuses) {
  const std::string no_ku =
      Issue("rot-noku",
            "basicConstraints=critical,CA:FALSE\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  RotateSigningOptions o;
  o.signing = SigningOptions("rot-noku-new");
  o.current = {no_ku};
  auto r = RotateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_THAT(r->report,
              HasSubstr("note: " + no_ku +
                        ": kernel unknown (rules of every studied kernel: "
                        "6.1 and 6.12) would not load or use it: no "
                        "keyUsage extension"));
  o.signing = SigningOptions("rot-noku-61");
  o.signing.kernel_version = "6.1";
  r = RotateSigning(o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_THAT(r->report, Not(HasSubstr("would not load")));
  o.signing = SigningOptions("rot-noku-bad");
  o.signing.kernel_version = "6";
  r = RotateSigning(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("kernel version \"6\""));
  EXPECT_FALSE(std::filesystem::exists(o.signing.out_key));
}

TEST_F(KeyCommandsTest, ShowKeyidCollisionInSet) {
  // A second certificate for the same key has the same SKID, hence keyid.
  const std::string dup = dir_->Sub("dup.der");
  Openssl("req -new -x509 -key " + ShellQuote(Path("signing.key")) +
          " -subj /CN=dup -days 5 -outform DER -out " + ShellQuote(dup));
  ShowOptions o;
  o.path = Path("signing.pem");
  o.ca_path = Path("ca.pem");
  o.set = {Path("ca.pem"), dup};
  ShowReport r = Show(o);
  EXPECT_FALSE(r.all_ok);
  EXPECT_THAT(r.text, HasSubstr("keyid_unique:      FAIL: keyid " +
                                KeyIdHex(CertKeyId(o.path)) + " also used by"));
}

TEST_F(KeyCommandsTest, ShowKeyFilesNeverPrintsSecrets) {
  ShowOptions o;
  o.path = Path("signing.key");
  ShowReport r = Show(o);
  EXPECT_TRUE(r.all_ok) << r.text;
  const std::string keyid = KeyIdHex(CertKeyId(Path("signing.pem")));
  EXPECT_THAT(r.text, HasSubstr("type:        private key"));
  EXPECT_THAT(r.text, HasSubstr("keyid:       " + keyid));
  EXPECT_THAT(r.text, Not(HasSubstr("BEGIN")));
  ShowOptions c;
  c.path = Path("signing.pem");
  ShowReport cert_report = Show(c);
  const size_t at = cert_report.text.find("spki_sha256:");
  ASSERT_NE(at, std::string::npos);
  const std::string spki_line =
      cert_report.text.substr(at, cert_report.text.find('\n', at) - at);
  EXPECT_THAT(r.text, HasSubstr(spki_line));

  const std::string pub = dir_->Sub("signing.pub");
  Openssl("pkey -in " + ShellQuote(Path("signing.key")) + " -pubout -out " +
          ShellQuote(pub));
  o.path = pub;
  r = Show(o);
  EXPECT_THAT(r.text, HasSubstr("type:        public key"));
  EXPECT_THAT(r.text, HasSubstr(spki_line));

  // An encrypted key is refused, not prompted for.
  const std::string enc = dir_->Sub("enc.key");
  Openssl("pkey -in " + ShellQuote(Path("signing.key")) +
          " -aes256 -passout pass:secret -out " + ShellQuote(enc));
  o.path = enc;
  auto refused = ShowKey(o);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("encrypted"));
}

// --- kernel cross-check ----------------------------------------------------

TEST_F(KeyCommandsTest, KernelRestrictedKeyringAcceptsSigningCert) {
  if (!HaveTool("keyctl")) {
    GTEST_SKIP() << "keyctl not installed";
  }
  TempDir dir;
  CreateCaOptions ca;
  ca.out_key = dir.Sub("ca.key");
  ca.out_cert = dir.Sub("ca.der");
  ca.subject = "/O=Acme/CN=Kernel test CA";
  ca.type = "rsa:2048";
  ASSERT_TRUE(CreateCa(ca).has_value());
  CreateSigningOptions s;
  s.ca_key = ca.out_key;
  s.ca_cert = ca.out_cert;
  s.out_key = dir.Sub("signing.key");
  s.out_cert = dir.Sub("signing.der");
  s.subject = "/O=Acme/CN=Kernel test signing";
  ASSERT_TRUE(CreateSigning(s).has_value());
  CreateCaOptions self;
  self.out_key = dir.Sub("self.key");
  self.out_cert = dir.Sub("self.der");
  self.subject = "/CN=Kernel test self-signed";
  self.type = "rsa:2048";
  ASSERT_TRUE(CreateCa(self).has_value());

  const std::string script =
      "A=$(keyctl newring a @s) && B=$(keyctl newring b @s) || exit 10; "
      "keyctl padd asymmetric '' $A < " +
      ShellQuote(ca.out_cert) +
      " >/dev/null || exit 11; "
      "keyctl restrict_keyring $B asymmetric key_or_keyring:$A || exit 12; "
      "keyctl padd asymmetric '' $B < " +
      ShellQuote(s.out_cert) +
      " >/dev/null || exit 13; "
      "keyctl padd asymmetric '' $B < " +
      ShellQuote(self.out_cert) + " >/dev/null && exit 14; exit 0";
  auto r = RunShell("keyctl session - bash -c " + ShellQuote(script));
  if (r.exit_code >= 10 && r.exit_code <= 12) {
    GTEST_SKIP() << "kernel keyrings unavailable here (step " << r.exit_code
                 << "): " << r.err;
  }
  EXPECT_EQ(r.exit_code, 0) << "13: signing cert refused, 14: self-signed "
                               "accepted\n"
                            << r.err;
}

}  // namespace
}  // namespace imab::builder
