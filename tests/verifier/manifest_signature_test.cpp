#include "verifier/bundle/manifest_signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "builder/manifest_signer.h"
#include "builder/signing_identity.h"
#include "common/read/digest.h"
#include "common/read/limits.h"
#include "tests/testutil/cms_forge.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/trust_inputs.h"
#include "verifier/bundle/release_signer.h"

namespace imab::verifier {
namespace {

using builder::SigningIdentity;
using imab::testing::AppendCertPem;
using imab::testing::CertOptions;
using imab::testing::KeyType;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using imab::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr long kDay = 24L * 3600;

CertOptions Opts(const std::string& cn, KeyType type, bool is_ca) {
  CertOptions o;
  o.common_name = cn;
  o.key_type = type;
  o.is_ca = is_ca;
  return o;
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> Der(CMS_ContentInfo* cms) {
  int len = i2d_CMS_ContentInfo(cms, nullptr);
  EXPECT_GT(len, 0);
  std::vector<uint8_t> out(static_cast<size_t>(len > 0 ? len : 0));
  unsigned char* p = out.data();
  EXPECT_EQ(i2d_CMS_ContentInfo(cms, &p), len);
  return out;
}

// A source that fails every read touching bytes at or after `fail_at`.
class FailingSource : public ByteSource {
 public:
  FailingSource(std::vector<uint8_t> data, uint64_t fail_at)
      : inner_(std::move(data)), fail_at_(fail_at) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    if (offset + out.size() > fail_at_) {
      return MakeError(ErrorCode::kIo, "injected read failure");
    }
    return inner_.ReadAt(offset, out);
  }

 private:
  MemoryByteSource inner_;
  uint64_t fail_at_;
};

class ManifestSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        MakeRootCa(Dir(), "root", Opts("Release Root", KeyType::kEcP256, true));
    inter_ = MakeIssued(Dir(), "inter", root_,
                        Opts("Release Intermediate", KeyType::kEcP256, true));
    AppendCertPem(dir_.Sub("chain.pem"), inter_.cert.get());
    manifest_ = "imabundle-manifest 2\nkind full\nend\n";
  }

  std::string Dir() const { return dir_.path().string(); }

  SigningIdentity Load(const TestIdentity& leaf, const std::string& chain) {
    auto id =
        builder::LoadSigningIdentity(leaf.key_path, leaf.cert_path, chain);
    EXPECT_TRUE(id.has_value()) << id.error().message;
    return id.has_value() ? std::move(*id) : SigningIdentity{};
  }

  std::vector<uint8_t> Sign(const TestIdentity& leaf,
                            const std::string& chain) {
    auto der = builder::SignManifest(manifest_, Load(leaf, chain));
    EXPECT_TRUE(der.has_value()) << der.error().message;
    return der.has_value() ? *der : std::vector<uint8_t>{};
  }

  ReleaseTrust Trust(const std::string& path) {
    auto trust = testing::LoadReleaseTrust(path);
    EXPECT_TRUE(trust.has_value()) << trust.error().message;
    return std::move(*trust);
  }

  Result<VerifiedSignature> Verify(const std::string& content,
                                   std::span<const uint8_t> sig,
                                   bool check_time = true) {
    MemoryByteSource source(Bytes(content));
    ReleaseTrust trust = Trust(root_.cert_path);
    SignatureCheckOptions options;
    options.check_time = check_time;
    return VerifyManifestSignature(source, 0, content.size(), sig, trust,
                                   options);
  }

  // Expects a rejection with `code` whose one-line message contains `why`.
  void ExpectRejected(const Result<VerifiedSignature>& r, ErrorCode code,
                      const std::string& why) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_THAT(r.error().message, HasSubstr(why));
    EXPECT_THAT(r.error().message, Not(HasSubstr("\n")));
    EXPECT_EQ(ERR_peek_error(), 0u) << "error queue not drained";
  }

  TempDir dir_;
  TestIdentity root_;
  TestIdentity inter_;
  std::string manifest_;
};

TEST_F(ManifestSignatureTest, RsaLeafUnderRootVerifies) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release RSA", KeyType::kRsa2048, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  auto r = Verify(manifest_, sig);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto want = Sha256Of(Bytes(manifest_));
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(r->manifest_sha256, *want);
  EXPECT_THAT(r->signer_subject, HasSubstr("CN=Release RSA"));
}

TEST_F(ManifestSignatureTest, EcLeafUnderIntermediateVerifies) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", inter_,
                                 Opts("Release EC", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, dir_.Sub("chain.pem"));
  auto r = Verify(manifest_, sig);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto want = Sha256Of(Bytes(manifest_));
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(r->manifest_sha256, *want);
  EXPECT_THAT(r->signer_subject, HasSubstr("CN=Release EC"));
}

TEST_F(ManifestSignatureTest, LargeRegionInsideABiggerSourceIsStreamed) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  manifest_.clear();
  for (int i = 0; manifest_.size() < 3 * kStreamChunkBytes + 17; ++i) {
    manifest_ += "line " + std::to_string(i) + "\n";
  }
  std::vector<uint8_t> sig = Sign(leaf, "");
  std::string bundle = std::string(512, 'H') + manifest_ + std::string(99, 'T');
  MemoryByteSource source(Bytes(bundle));
  ReleaseTrust trust = Trust(root_.cert_path);
  auto r = VerifyManifestSignature(source, 512, manifest_.size(), sig, trust,
                                   SignatureCheckOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto want = Sha256Of(Bytes(manifest_));
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(r->manifest_sha256, *want);
  // One byte less of the region is different content.
  auto shorter = VerifyManifestSignature(source, 512, manifest_.size() - 1, sig,
                                         trust, SignatureCheckOptions{});
  ExpectRejected(shorter, ErrorCode::kBadSignature, "does not verify");
}

TEST_F(ManifestSignatureTest, RegionPastEndOfSourceIsMalformed) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  MemoryByteSource source(Bytes(manifest_));
  ReleaseTrust trust = Trust(root_.cert_path);
  auto r = VerifyManifestSignature(source, 1, manifest_.size(), sig, trust,
                                   SignatureCheckOptions{});
  ExpectRejected(r, ErrorCode::kMalformed, "past the end");
}

TEST_F(ManifestSignatureTest, ReadErrorIsReportedAsItself) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  FailingSource source(Bytes(manifest_), 10);
  ReleaseTrust trust = Trust(root_.cert_path);
  auto r = VerifyManifestSignature(source, 0, manifest_.size(), sig, trust,
                                   SignatureCheckOptions{});
  ExpectRejected(r, ErrorCode::kIo, "injected read failure");
}

TEST_F(ManifestSignatureTest, FlippedContentByteIsRejected) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  std::string changed = manifest_;
  changed[5] = static_cast<char>(changed[5] ^ 0x01);
  ExpectRejected(Verify(changed, sig), ErrorCode::kBadSignature,
                 "manifest.sig: does not verify");
}

TEST_F(ManifestSignatureTest, FlippedSignatureBytesAreRejected) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", inter_,
                                 Opts("Release", KeyType::kRsa2048, false));
  std::vector<uint8_t> sig = Sign(leaf, dir_.Sub("chain.pem"));
  ASSERT_GT(sig.size(), 100u);
  // Header, certificates, signed attributes and the signature value itself.
  std::vector<size_t> positions = {0,
                                   1,
                                   5,
                                   20,
                                   sig.size() / 4,
                                   sig.size() / 2,
                                   sig.size() * 3 / 4,
                                   sig.size() - 300,
                                   sig.size() - 40,
                                   sig.size() - 1};
  for (size_t pos : positions) {
    std::vector<uint8_t> bad = sig;
    bad[pos] ^= 0x01;
    auto r = Verify(manifest_, bad);
    EXPECT_FALSE(r.has_value()) << "flip at " << pos << " accepted";
    if (!r.has_value()) {
      EXPECT_TRUE(r.error().code == ErrorCode::kMalformed ||
                  r.error().code == ErrorCode::kBadSignature)
          << pos << ": " << r.error().message;
      EXPECT_THAT(r.error().message, Not(HasSubstr("\n")));
    }
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

TEST_F(ManifestSignatureTest, TruncatedEmptyAndTrailingDerAreMalformed) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  std::vector<uint8_t> truncated(sig.begin(), sig.end() - 1);
  ExpectRejected(Verify(manifest_, truncated), ErrorCode::kMalformed,
                 "manifest.sig: not a DER CMS ContentInfo");
  ExpectRejected(Verify(manifest_, std::vector<uint8_t>{}),
                 ErrorCode::kMalformed, "manifest.sig: empty");
  std::vector<uint8_t> trailing = sig;
  trailing.push_back(0);
  ExpectRejected(Verify(manifest_, trailing), ErrorCode::kMalformed,
                 "manifest.sig: trailing bytes");
}

TEST_F(ManifestSignatureTest, NonMinimalLengthEncodingIsNotCanonical) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  // Outer SEQUENCE "30 82 HH LL" rewritten as "30 83 00 HH LL" (BER).
  ASSERT_EQ(sig[0], 0x30);
  ASSERT_EQ(sig[1], 0x82);
  std::vector<uint8_t> ber = {0x30, 0x83, 0x00};
  ber.insert(ber.end(), sig.begin() + 2, sig.end());
  ExpectRejected(Verify(manifest_, ber), ErrorCode::kMalformed,
                 "not canonical DER");
}

TEST_F(ManifestSignatureTest, OversizedSignatureIsLimitExceeded) {
  std::vector<uint8_t> huge(kMaxSignatureBytes + 1, 0x30);
  ExpectRejected(Verify(manifest_, huge), ErrorCode::kLimitExceeded,
                 "kMaxSignatureBytes");
}

TEST_F(ManifestSignatureTest, SignerFromAnotherRootIsRejected) {
  TestIdentity other =
      MakeRootCa(Dir(), "other", Opts("Other Root", KeyType::kEcP256, true));
  TestIdentity leaf = MakeIssued(Dir(), "leaf", other,
                                 Opts("Release", KeyType::kEcP256, false));
  ExpectRejected(Verify(manifest_, Sign(leaf, "")), ErrorCode::kBadSignature,
                 "certificate chain: unable to get local issuer certificate");
}

TEST_F(ManifestSignatureTest, MissingIntermediateIsRejected) {
  TestIdentity leaf = MakeIssued(Dir(), "leaf", inter_,
                                 Opts("Release", KeyType::kEcP256, false));
  ExpectRejected(Verify(manifest_, Sign(leaf, "")), ErrorCode::kBadSignature,
                 "certificate chain: unable to get local issuer certificate");
}

// A signature made while the leaf was valid (signingTime 5 days ago),
// verified after it expired.
std::vector<uint8_t> SignedFiveDaysAgo(const std::vector<uint8_t>& sig,
                                       const TestIdentity& leaf) {
  imab::testing::SignedAttributeEdit edit;
  edit.signing_time = static_cast<int64_t>(std::time(nullptr)) - 5 * kDay;
  return imab::testing::ResignAttributes(sig, leaf, edit);
}

TEST_F(ManifestSignatureTest, ExpiredLeafIsRejectedUnlessTimeIsNotChecked) {
  CertOptions o = Opts("Expired", KeyType::kEcP256, false);
  o.not_before_offset = -10 * kDay;
  o.not_after_offset = -kDay;
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_, o);
  std::vector<uint8_t> sig = SignedFiveDaysAgo(Sign(leaf, ""), leaf);
  ExpectRejected(Verify(manifest_, sig), ErrorCode::kBadSignature,
                 "certificate chain: certificate has expired");
  auto r = Verify(manifest_, sig, /*check_time=*/false);
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST_F(ManifestSignatureTest, NoTimeCheckDoesNotLeakIntoTheSharedTrust) {
  CertOptions o = Opts("Expired", KeyType::kEcP256, false);
  o.not_before_offset = -10 * kDay;
  o.not_after_offset = -kDay;
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_, o);
  std::vector<uint8_t> sig = SignedFiveDaysAgo(Sign(leaf, ""), leaf);
  MemoryByteSource source(Bytes(manifest_));
  ReleaseTrust trust = Trust(root_.cert_path);
  SignatureCheckOptions no_time;
  no_time.check_time = false;
  auto lax =
      VerifyManifestSignature(source, 0, manifest_.size(), sig, trust, no_time);
  EXPECT_TRUE(lax.has_value()) << lax.error().message;
  auto strict = VerifyManifestSignature(source, 0, manifest_.size(), sig, trust,
                                        SignatureCheckOptions{});
  ExpectRejected(strict, ErrorCode::kBadSignature, "certificate has expired");
}

TEST_F(ManifestSignatureTest, NotYetValidLeafIsRejected) {
  CertOptions o = Opts("Future", KeyType::kEcP256, false);
  o.not_before_offset = kDay;
  o.not_after_offset = 10 * kDay;
  TestIdentity leaf = MakeIssued(Dir(), "leaf", root_, o);
  ExpectRejected(Verify(manifest_, Sign(leaf, "")), ErrorCode::kBadSignature,
                 "certificate chain: certificate is not yet valid");
}

TEST_F(ManifestSignatureTest, ExpiredIntermediateIsRejected) {
  CertOptions o = Opts("Old Intermediate", KeyType::kEcP256, true);
  o.not_before_offset = -10 * kDay;
  o.not_after_offset = -kDay;
  TestIdentity old = MakeIssued(Dir(), "old", root_, o);
  AppendCertPem(dir_.Sub("old-chain.pem"), old.cert.get());
  TestIdentity leaf =
      MakeIssued(Dir(), "leaf", old, Opts("Release", KeyType::kEcP256, false));
  ExpectRejected(Verify(manifest_, Sign(leaf, dir_.Sub("old-chain.pem"))),
                 ErrorCode::kBadSignature,
                 "certificate chain: certificate has expired");
}

TEST_F(ManifestSignatureTest, TrustFileWithSeveralRootsAcceptsEach) {
  TestIdentity other =
      MakeRootCa(Dir(), "other", Opts("Other Root", KeyType::kRsa2048, true));
  std::string both = dir_.Sub("both.pem");
  AppendCertPem(both, root_.cert.get());
  AppendCertPem(both, other.cert.get());
  TestIdentity leaf = MakeIssued(Dir(), "leaf", other,
                                 Opts("Release", KeyType::kEcP256, false));
  std::vector<uint8_t> sig = Sign(leaf, "");
  MemoryByteSource source(Bytes(manifest_));
  ReleaseTrust trust = Trust(both);
  auto r = VerifyManifestSignature(source, 0, manifest_.size(), sig, trust,
                                   SignatureCheckOptions{});
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST_F(ManifestSignatureTest, TrustFileErrorsNameTheFile) {
  std::string missing = dir_.Sub("missing.pem");
  auto r1 = testing::LoadReleaseTrust(missing);
  ASSERT_FALSE(r1.has_value());
  EXPECT_EQ(r1.error().code, ErrorCode::kIo);
  EXPECT_THAT(r1.error().message, HasSubstr(missing));

  std::string no_cert = dir_.Sub("nocert.pem");
  WriteFile(no_cert, "just some text\n");
  auto r2 = testing::LoadReleaseTrust(no_cert);
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r2.error().message,
              HasSubstr(no_cert + ": no PEM certificate found"));

  std::string broken = dir_.Sub("broken.pem");
  WriteFile(broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  auto r3 = testing::LoadReleaseTrust(broken);
  ASSERT_FALSE(r3.has_value());
  EXPECT_EQ(r3.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r3.error().message, HasSubstr(broken + ": bad certificate 1"));

  auto r4 = testing::LoadReleaseTrust(Dir());
  ASSERT_FALSE(r4.has_value());
  EXPECT_EQ(r4.error().code, ErrorCode::kIo) << r4.error().message;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// Hand-built CMS variants that FORMAT.md §5 does not allow.
class CmsShapeTest : public ManifestSignatureTest {
 protected:
  void SetUp() override {
    ManifestSignatureTest::SetUp();
    leaf_ = MakeIssued(Dir(), "leaf", root_,
                       Opts("Release", KeyType::kEcP256, false));
    leaf2_ = MakeIssued(Dir(), "leaf2", root_,
                        Opts("Release 2", KeyType::kEcP256, false));
  }

  // CMS SignedData over manifest_ with `signers` signers using `md`.
  std::vector<uint8_t> Build(unsigned int flags, const EVP_MD* md,
                             int signers) {
    flags |= CMS_BINARY | CMS_PARTIAL;
    Ptr<BIO> data(
        BIO_new_mem_buf(manifest_.data(), static_cast<int>(manifest_.size())));
    Ptr<CMS_ContentInfo> cms(
        CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
    EXPECT_NE(cms, nullptr);
    for (int i = 0; i < signers; ++i) {
      const TestIdentity& who = i == 0 ? leaf_ : leaf2_;
      EXPECT_NE(
          CMS_add1_signer(cms.get(), who.cert.get(), who.key.get(), md, flags),
          nullptr)
          << DrainOpenSslErrorsForTest();
    }
    EXPECT_EQ(CMS_final(cms.get(), data.get(), nullptr, flags), 1);
    return Der(cms.get());
  }

  static std::string DrainOpenSslErrorsForTest() {
    std::string out;
    unsigned long e = 0;
    while ((e = ERR_get_error()) != 0) {
      out += ERR_reason_error_string(e) != nullptr ? ERR_reason_error_string(e)
                                                   : "?";
      out += ";";
    }
    return out;
  }

  TestIdentity leaf_;
  TestIdentity leaf2_;
};

TEST_F(CmsShapeTest, WellFormedVariantIsAccepted) {
  // Guards the tests below: only the one varied property makes them fail.
  auto r = Verify(manifest_, Build(CMS_DETACHED, EVP_sha256(), 1));
  EXPECT_TRUE(r.has_value()) << r.error().message;
  auto r384 = Verify(manifest_, Build(CMS_DETACHED, EVP_sha384(), 1));
  EXPECT_TRUE(r384.has_value()) << r384.error().message;
  auto r512 = Verify(manifest_, Build(CMS_DETACHED, EVP_sha512(), 1));
  EXPECT_TRUE(r512.has_value()) << r512.error().message;
}

TEST_F(CmsShapeTest, NotSignedDataIsRejected) {
  Ptr<BIO> data(
      BIO_new_mem_buf(manifest_.data(), static_cast<int>(manifest_.size())));
  Ptr<CMS_ContentInfo> cms(CMS_data_create(data.get(), CMS_BINARY));
  ASSERT_NE(cms, nullptr);
  ExpectRejected(Verify(manifest_, Der(cms.get())), ErrorCode::kBadSignature,
                 "content type is not SignedData");
}

TEST_F(CmsShapeTest, EmbeddedContentIsRejected) {
  ExpectRejected(Verify(manifest_, Build(0, EVP_sha256(), 1)),
                 ErrorCode::kBadSignature, "not detached");
}

TEST_F(CmsShapeTest, TwoSignersAreRejected) {
  ExpectRejected(Verify(manifest_, Build(CMS_DETACHED, EVP_sha256(), 2)),
                 ErrorCode::kBadSignature, "exactly one SignerInfo, found 2");
}

TEST_F(CmsShapeTest, Sha1DigestIsRejected) {
  ExpectRejected(Verify(manifest_, Build(CMS_DETACHED, EVP_sha1(), 1)),
                 ErrorCode::kBadSignature,
                 "digest algorithm not allowed: SHA1");
}

TEST_F(CmsShapeTest, MissingSignedAttributesAreRejected) {
  ExpectRejected(
      Verify(manifest_, Build(CMS_DETACHED | CMS_NOATTR, EVP_sha256(), 1)),
      ErrorCode::kBadSignature, "no signed attributes");
}

// --- the release signer (FORMAT.md §5, verifier/bundle/release_signer.h)
// ---------

class ReleaseSignerRulesTest : public ManifestSignatureTest {
 protected:
  TestIdentity Leaf(const std::string& name, CertOptions o) {
    o.common_name = name;
    return MakeIssued(Dir(), name, root_, o);
  }

  Result<VerifiedSignature> VerifyWith(std::span<const uint8_t> sig,
                                       const std::string& anchors,
                                       SignatureCheckOptions options) {
    MemoryByteSource source(Bytes(manifest_));
    ReleaseTrust trust = Trust(anchors);
    return VerifyManifestSignature(source, 0, manifest_.size(), sig, trust,
                                   options);
  }
};

TEST_F(ReleaseSignerRulesTest, CodeSigningAmongOtherUsagesIsAccepted) {
  CertOptions o;
  o.extended_key_usage = "serverAuth,codeSigning";
  TestIdentity leaf = Leaf("multi", o);
  SignatureCheckOptions options;
  options.require_eku = true;
  auto r = VerifyWith(Sign(leaf, ""), root_.cert_path, options);
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST_F(ReleaseSignerRulesTest, AnyExtendedKeyUsageIsNotCodeSigning) {
  CertOptions o;
  o.extended_key_usage = "anyExtendedKeyUsage";
  ExpectRejected(VerifyWith(Sign(Leaf("any", o), ""), root_.cert_path, {}),
                 ErrorCode::kBadSignature,
                 "manifest.sig: signer certificate's extendedKeyUsage lacks "
                 "codeSigning");
}

TEST_F(ReleaseSignerRulesTest, RequireEkuRefusesASignerWithoutOne) {
  std::vector<uint8_t> sig = Sign(Leaf("plain", CertOptions{}), "");
  EXPECT_TRUE(VerifyWith(sig, root_.cert_path, {}).has_value());
  SignatureCheckOptions options;
  options.require_eku = true;
  ExpectRejected(VerifyWith(sig, root_.cert_path, options),
                 ErrorCode::kBadSignature,
                 "signer certificate has no extendedKeyUsage codeSigning");
}

TEST_F(ReleaseSignerRulesTest, ASignerThatIsItselfAnAnchorIsRefused) {
  CertOptions o;
  o.extended_key_usage = "codeSigning";
  TestIdentity leaf = Leaf("anchored", o);
  const std::string anchors = dir_.Sub("anchors.pem");
  AppendCertPem(anchors, root_.cert.get());
  AppendCertPem(anchors, leaf.cert.get());
  ExpectRejected(VerifyWith(Sign(leaf, ""), anchors, {}),
                 ErrorCode::kBadSignature,
                 "signer certificate is itself a release CA anchor");
}

// An intermediate whose EKU allows only TLS cannot issue release signers;
// one allowing codeSigning or any usage can.
TEST_F(ReleaseSignerRulesTest, IntermediateEkuMustAllowCodeSigning) {
  struct Case {
    std::string eku;
    bool accepted;
  };
  for (const Case& c : std::vector<Case>{{"serverAuth", false},
                                         {"serverAuth,clientAuth", false},
                                         {"codeSigning", true},
                                         {"anyExtendedKeyUsage", true}}) {
    SCOPED_TRACE(c.eku);
    CertOptions ca_options = Opts("Scoped CA " + c.eku, KeyType::kEcP256, true);
    ca_options.extended_key_usage = c.eku;
    TestIdentity scoped = MakeIssued(Dir(), "scoped", root_, ca_options);
    const std::string chain = dir_.Sub("scoped-chain.pem");
    std::filesystem::remove(chain);
    AppendCertPem(chain, scoped.cert.get());
    CertOptions leaf_options = Opts("Leaf", KeyType::kEcP256, false);
    leaf_options.extended_key_usage = "codeSigning";
    TestIdentity leaf = MakeIssued(Dir(), "scoped-leaf", scoped, leaf_options);
    auto r = VerifyWith(Sign(leaf, chain), root_.cert_path, {});
    if (c.accepted) {
      EXPECT_TRUE(r.has_value()) << r.error().message;
    } else {
      ExpectRejected(r, ErrorCode::kBadSignature,
                     "manifest.sig: certificate chain: unsuitable "
                     "certificate purpose");
    }
  }
}

TEST_F(ReleaseSignerRulesTest, ASignerWithoutKeyUsageIsRefused) {
  CertOptions o;
  o.omit_key_usage = true;
  o.extended_key_usage = "codeSigning";
  ExpectRejected(VerifyWith(Sign(Leaf("no-ku", o), ""), root_.cert_path, {}),
                 ErrorCode::kBadSignature,
                 "signer certificate lacks keyUsage digitalSignature");
}

// OpenSSL's chain checks refuse such a certificate first; the rule is
// checked on its own here.
TEST_F(ReleaseSignerRulesTest, ASignerWithInvalidExtensionsIsRefused) {
  TestIdentity leaf = Leaf("dup-ext", CertOptions{});
  std::vector<uint8_t> der = Sign(leaf, "");
  const unsigned char* p = der.data();
  Ptr<CMS_ContentInfo> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(cms, nullptr);
  CMS_SignerInfo* si =
      sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  // A keyUsage whose value is not DER makes the extensions invalid.
  Ptr<X509> broken(X509_dup(leaf.cert.get()));
  int at = X509_get_ext_by_NID(broken.get(), NID_key_usage, -1);
  ASSERT_GE(at, 0);
  Ptr<X509_EXTENSION> old_usage(X509_delete_ext(broken.get(), at));
  Ptr<ASN1_STRING> garbage(ASN1_OCTET_STRING_new());
  ASSERT_EQ(
      ASN1_OCTET_STRING_set(garbage.get(),
                            reinterpret_cast<const unsigned char*>("\x01"), 1),
      1);
  Ptr<X509_EXTENSION> bad_usage(
      X509_EXTENSION_create_by_NID(nullptr, NID_key_usage, 1, garbage.get()));
  ASSERT_NE(bad_usage, nullptr);
  ASSERT_EQ(X509_add_ext(broken.get(), bad_usage.get(), -1), 1);
  // Signing re-encodes it (CheckReleaseSigner does not verify signatures);
  // the copy decodes it again with its flags computed afresh.
  ASSERT_GT(X509_sign(broken.get(), root_.key.get(), EVP_sha256()), 0);
  Ptr<X509> reparsed(X509_dup(broken.get()));
  ReleaseTrust trust = Trust(root_.cert_path);
  Status status = CheckReleaseSigner(reparsed.get(), si, trust.store(), false);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "manifest.sig: signer certificate has invalid extensions");
  ERR_clear_error();
}

TEST_F(ReleaseSignerRulesTest, AnIntermediateCaCannotSign) {
  ExpectRejected(VerifyWith(Sign(inter_, ""), root_.cert_path, {}),
                 ErrorCode::kBadSignature, "signer certificate is a CA");
}

// A certificate that had expired when it signed, judged without a clock:
// its signingTime lies after notAfter.
TEST_F(ReleaseSignerRulesTest, ASignatureMadeAfterTheSignerExpiredIsRefused) {
  CertOptions o;
  o.not_before_offset = -10 * kDay;
  o.not_after_offset = -kDay;
  SignatureCheckOptions no_clock;
  no_clock.check_time = false;
  ExpectRejected(
      VerifyWith(Sign(Leaf("expired", o), ""), root_.cert_path, no_clock),
      ErrorCode::kBadSignature,
      "signingTime lies outside the signer certificate's validity "
      "period");
}

TEST_F(ReleaseSignerRulesTest, SignedAttributeRulesEachFail) {
  TestIdentity leaf = Leaf("attrs", CertOptions{});
  std::vector<uint8_t> good = Sign(leaf, "");
  struct Case {
    imab::testing::SignedAttributeEdit edit;
    std::string why;
  };
  std::vector<Case> cases(11);
  cases[6].edit.utf8_value_nid = NID_pkcs9_contentType;
  cases[6].why = "contentType signed attribute is not id-data";
  cases[7].edit.utf8_value_nid = NID_pkcs9_messageDigest;
  cases[7].why = "messageDigest signed attribute is not an OCTET STRING";
  cases[8].edit.utf8_value_nid = NID_pkcs9_signingTime;
  cases[8].why = "signingTime is not a valid UTCTime or GeneralizedTime";
  cases[9].edit.two_values_nid = NID_pkcs9_signingTime;
  cases[9].why = "signingTime signed attribute needs exactly one value";
  cases[10].edit.two_values_nid = NID_pkcs9_contentType;
  cases[10].why = "contentType signed attribute needs exactly one value";
  cases[0].edit.content_type_nid = NID_pkcs7_enveloped;
  cases[0].why = "contentType signed attribute is not id-data";
  cases[1].edit.drop_content_type = true;
  cases[1].why = "contentType signed attribute missing";
  cases[2].edit.drop_message_digest = true;
  cases[2].why = "messageDigest signed attribute missing";
  cases[3].edit.drop_signing_time = true;
  cases[3].why = "signingTime signed attribute missing";
  cases[4].edit.second_signing_time = true;
  cases[4].why = "signingTime signed attribute given more than once";
  cases[5].edit.signing_time =
      static_cast<int64_t>(std::time(nullptr)) + 2 * kDay;
  cases[5].why = "signingTime lies more than 24 hours in the future";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    ExpectRejected(
        VerifyWith(imab::testing::ResignAttributes(good, leaf, c.edit),
                   root_.cert_path, {}),
        ErrorCode::kBadSignature, c.why);
  }
  // Within the skew, a signing time ahead of the clock is accepted.
  imab::testing::SignedAttributeEdit soon;
  soon.signing_time = static_cast<int64_t>(std::time(nullptr)) + 3600;
  auto r = VerifyWith(imab::testing::ResignAttributes(good, leaf, soon),
                      root_.cert_path, {});
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

}  // namespace
}  // namespace imab::verifier
