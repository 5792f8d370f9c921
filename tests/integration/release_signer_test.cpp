// The release signer's purpose (issue 12, item 7), end to end with the real
// executables: a bundle validly signed by a TLS server certificate, a CA
// certificate, the release CA itself or a leaf without digitalSignature is
// refused; the signed attributes follow FORMAT.md §5 (contentType id-data,
// one signingTime inside the signer's validity and not in the future);
// `release-require-eku = yes` / --require-eku demand EKU codeSigning; and
// `key create-release` and scripts/make-dev-keys.sh make signers that pass
// all of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/objects.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "common/read/bundle_container.h"
#include "common/read/byte_source.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/cms_forge.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/memory_byte_source.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class ReleaseSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    rootfs_ = dir_.Sub("rootfs");
    fs::create_directories(rootfs_ + "/etc");
    WriteFile(rootfs_ + "/etc/motd", "hello\n");
    // The init the kernel falls back to, so a device accepts the image.
    fs::create_directories(rootfs_ + "/bin");
    WriteFile(rootfs_ + "/bin/sh", "sample init\n");
    fs::permissions(rootfs_ + "/bin/sh", fs::perms(0755));
  }

  // `imab-build build` of the small rootfs signed by key/cert, plus `extra`.
  CommandResult BuildSignedBy(const std::string& key, const std::string& cert,
                              const std::string& bundle,
                              const std::string& extra = "") {
    return RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
                    " build --rootfs " + ShellQuote(rootfs_) +
                    " --version 1.0.0 --compatible test-board --signing-key " +
                    ShellQuote(key) + " --signing-cert " + ShellQuote(cert) +
                    " --output " + ShellQuote(bundle) + " " + extra);
  }

  std::string Built(const TestIdentity& signer, const std::string& name,
                    const std::string& extra = "") {
    std::string bundle = dir_.Sub(name + ".imab");
    CommandResult r =
        BuildSignedBy(signer.key_path, signer.cert_path, bundle, extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return bundle;
  }

  // A release-CA-issued certificate with `options` on top of the defaults.
  TestIdentity Issued(const std::string& name, CertOptions options) {
    options.common_name = name;
    return MakeIssued(dir_.Sub(""), name, keys_->ca(), options);
  }

  // Expects `imab-verify verify` (plus `extra`) to refuse `bundle` as a
  // bad signature whose message contains `why`.
  void ExpectRefused(const std::string& bundle, const std::string& why,
                     const std::string& extra = "") {
    CommandResult r = RunVerify(bundle, keys_->ca().cert_path, extra);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("manifest.sig: " + why));
  }

  // `bundle` with its signed attributes edited and signed again by the
  // release signer: still a valid signature over the same manifest.
  std::string Resigned(const std::string& bundle, const std::string& name,
                       const SignedAttributeEdit& edit) {
    std::string bytes = ReadFile(bundle);
    MemoryByteSource source(std::vector<uint8_t>(bytes.begin(), bytes.end()));
    auto layout = ReadBundleLayout(source);
    EXPECT_TRUE(layout.has_value());
    if (!layout.has_value()) {
      return bundle;
    }
    ForgedBundle forged;
    forged.manifest =
        bytes.substr(layout->manifest_offset, layout->manifest_size);
    forged.payload = bytes.substr(layout->payload_offset, layout->payload_size);
    std::string sig =
        bytes.substr(layout->signature_offset, layout->signature_size);
    forged.signature = ResignAttributes(
        std::vector<uint8_t>(sig.begin(), sig.end()), keys_->signer(), edit);
    std::string out = dir_.Sub(name + ".imab");
    WriteFile(out, Assemble(forged, layout->mtime));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::string rootfs_;
};

TEST_F(ReleaseSignerTest, TheTestReleaseSignerIsAccepted) {
  std::string bundle = Built(keys_->signer(), "good");
  CommandResult r = RunVerify(bundle, keys_->ca().cert_path, "--require-eku");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A re-signature without edits is as good as the original.
  std::string again = Resigned(bundle, "again", SignedAttributeEdit{});
  r = RunVerify(again, keys_->ca().cert_path);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ReleaseSignerTest, ATlsServerCertificateCannotSignBundles) {
  CertOptions tls;
  tls.key_usage = "critical,digitalSignature,keyEncipherment";
  tls.extended_key_usage = "serverAuth";
  ExpectRefused(Built(Issued("tls-server", tls), "tls"),
                "signer certificate's extendedKeyUsage lacks codeSigning");
  // Variant: an e-mail (S/MIME) certificate.
  CertOptions mail;
  mail.extended_key_usage = "emailProtection,clientAuth";
  ExpectRefused(Built(Issued("smime", mail), "smime"),
                "signer certificate's extendedKeyUsage lacks codeSigning");
}

// Variant of the TLS case one level up: a CA whose EKU allows only TLS
// issues a codeSigning leaf.
TEST_F(ReleaseSignerTest, ATlsOnlyIntermediateCannotIssueReleaseSigners) {
  CertOptions tls_ca;
  tls_ca.is_ca = true;
  tls_ca.extended_key_usage = "serverAuth,clientAuth";
  TestIdentity inter = Issued("tls-ca", tls_ca);
  CertOptions leaf;
  leaf.common_name = "under-tls-ca";
  leaf.extended_key_usage = "critical,codeSigning";
  TestIdentity signer = MakeIssued(dir_.Sub(""), "under-tls-ca", inter, leaf);
  ExpectRefused(
      Built(signer, "under-tls-ca", "--chain " + ShellQuote(inter.cert_path)),
      "certificate chain: unsuitable certificate purpose");
}

TEST_F(ReleaseSignerTest, ACaCertificateCannotSignBundles) {
  // An intermediate CA the release CA issued, with digitalSignature too.
  CertOptions sub_ca;
  sub_ca.is_ca = true;
  sub_ca.key_usage = "critical,keyCertSign,cRLSign,digitalSignature";
  sub_ca.extended_key_usage = "codeSigning";
  ExpectRefused(Built(Issued("sub-ca", sub_ca), "sub-ca"),
                "signer certificate is a CA");
  // Variant: the release CA signs directly with its own key.
  ExpectRefused(Built(keys_->ca(), "by-ca"), "signer certificate is a CA");
}

TEST_F(ReleaseSignerTest, ALeafWithoutDigitalSignatureCannotSignBundles) {
  CertOptions no_ds;
  no_ds.key_usage = "critical,keyEncipherment";
  no_ds.extended_key_usage = "codeSigning";
  ExpectRefused(Built(Issued("no-ds", no_ds), "no-ds"),
                "signer certificate lacks keyUsage digitalSignature");
  // Variant: nonRepudiation (contentCommitment) without digitalSignature.
  CertOptions cert_sign;
  cert_sign.key_usage = "critical,nonRepudiation";
  ExpectRefused(Built(Issued("non-repudiation", cert_sign), "nr"),
                "signer certificate lacks keyUsage digitalSignature");
}

TEST_F(ReleaseSignerTest, RequireEkuRefusesASignerWithoutOne) {
  TestIdentity plain = Issued("no-eku", CertOptions{});
  std::string bundle = Built(plain, "no-eku");
  // Without the requirement, an absent EKU is allowed.
  EXPECT_EQ(RunVerify(bundle, keys_->ca().cert_path).exit_code, 0);
  ExpectRefused(bundle, "signer certificate has no extendedKeyUsage",
                "--require-eku");
  // The same bundle with a codeSigning signer passes the requirement.
  std::string good = Built(keys_->signer(), "eku");
  EXPECT_EQ(RunVerify(good, keys_->ca().cert_path, "--require-eku").exit_code,
            0);
}

TEST_F(ReleaseSignerTest, DeviceInitRequireEkuWritesTheKey) {
  TestDevice device(dir_.Sub("device"), *keys_, dir_.Sub(""));
  CommandResult init = device.Init("--release-require-eku");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(ReadFile(device.root() + "/etc/imabundle/device.conf"),
              HasSubstr("release-require-eku = yes\n"));
  TestIdentity plain = Issued("no-eku", CertOptions{});
  CommandResult install =
      device.Install(Built(plain, "no-eku", device.ImaBuildFlags()));
  EXPECT_EQ(install.exit_code, 1) << install.err;
  EXPECT_THAT(install.err,
              HasSubstr("signer certificate has no extendedKeyUsage"));
}

TEST_F(ReleaseSignerTest, DeviceConfigRequireEkuAppliesToVerifyAndInstall) {
  TestDevice device(dir_.Sub("device"), *keys_, dir_.Sub(""));
  CommandResult init = device.Init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string conf = device.root() + "/etc/imabundle/device.conf";
  WriteFile(conf, ReadFile(conf) + "release-require-eku = yes\n");
  TestIdentity plain = Issued("no-eku", CertOptions{});
  std::string bundle = Built(plain, "no-eku", device.ImaBuildFlags());
  CommandResult verify =
      RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
               " --root " + ShellQuote(device.root()));
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_THAT(verify.err,
              HasSubstr("signer certificate has no extendedKeyUsage"));
  CommandResult install = device.Install(bundle);
  EXPECT_EQ(install.exit_code, 1) << install.err;
  EXPECT_THAT(install.err,
              HasSubstr("signer certificate has no extendedKeyUsage"));
  // A codeSigning signer installs on the same device.
  std::string good = Built(keys_->signer(), "eku", device.ImaBuildFlags());
  install = device.Install(good);
  EXPECT_EQ(install.exit_code, 0) << install.err;
}

TEST_F(ReleaseSignerTest, TheSignedContentTypeMustBeIdData) {
  std::string bundle = Built(keys_->signer(), "good");
  SignedAttributeEdit signed_data;
  signed_data.content_type_nid = NID_pkcs7_signed;
  ExpectRefused(Resigned(bundle, "ct-signed", signed_data),
                "contentType signed attribute is not id-data");
  // Variant: the content type of an RFC 3161 timestamp token.
  SignedAttributeEdit tst;
  tst.content_type_nid = NID_id_smime_ct_TSTInfo;
  ExpectRefused(Resigned(bundle, "ct-tst", tst),
                "contentType signed attribute is not id-data");
  SignedAttributeEdit none;
  none.drop_content_type = true;
  ExpectRefused(Resigned(bundle, "ct-none", none),
                "contentType signed attribute missing");
}

TEST_F(ReleaseSignerTest, MessageDigestIsRequired) {
  SignedAttributeEdit edit;
  edit.drop_message_digest = true;
  ExpectRefused(Resigned(Built(keys_->signer(), "good"), "no-md", edit),
                "messageDigest signed attribute missing");
}

TEST_F(ReleaseSignerTest, SigningTimeFollowsFormatSection5) {
  std::string bundle = Built(keys_->signer(), "good");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  SignedAttributeEdit future;
  future.signing_time = now + 3 * 24 * 3600;
  std::string ahead = Resigned(bundle, "future", future);
  ExpectRefused(ahead, "signingTime lies more than 24 hours in the future");
  // Without a trusted clock only the clock-free rules apply.
  EXPECT_EQ(
      RunVerify(ahead, keys_->ca().cert_path, "--no-time-check").exit_code, 0);
  // Variant: before the signer's notBefore (now - 1 h), so outside its
  // validity, with or without a clock.
  SignedAttributeEdit early;
  early.signing_time = now - 2 * 24 * 3600;
  std::string before = Resigned(bundle, "early", early);
  ExpectRefused(before,
                "signingTime lies outside the signer certificate's validity");
  ExpectRefused(before,
                "signingTime lies outside the signer certificate's validity",
                "--no-time-check");
  SignedAttributeEdit none;
  none.drop_signing_time = true;
  ExpectRefused(Resigned(bundle, "no-time", none),
                "signingTime signed attribute missing");
  SignedAttributeEdit twice;
  twice.second_signing_time = true;
  ExpectRefused(Resigned(bundle, "two-times", twice),
                "signingTime signed attribute given more than once");
}

// --- the keys the project makes -------------------------------------------

TEST_F(ReleaseSignerTest, CreateReleaseWithoutACaMakesACaAndACodeSigningLeaf) {
  const std::string key = dir_.Sub("rel.key");
  const std::string cert = dir_.Sub("rel.pem");
  CommandResult made =
      RunShell(ShellQuote(BuildBin()) + " key create-release --out-key " +
               ShellQuote(key) + " --out-cert " + ShellQuote(cert) +
               " --subject '/O=Acme/CN=Acme release 1'");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string ca = dir_.Sub("rel-ca.pem");
  ASSERT_TRUE(fs::exists(ca)) << made.out;
  EXPECT_TRUE(fs::exists(dir_.Sub("rel-ca.key")));
  std::string bundle = dir_.Sub("acme.imab");
  CommandResult built = BuildSignedBy(key, cert, bundle);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  CommandResult r = RunVerify(bundle, ca, "--require-eku");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("signed by O=Acme, CN=Acme release 1"));
  // The new CA is an anchor only: the bundle it signs itself is refused.
  std::string by_ca = dir_.Sub("by-ca.imab");
  ASSERT_EQ(BuildSignedBy(dir_.Sub("rel-ca.key"), ca, by_ca).exit_code, 0);
  CommandResult refused = RunVerify(by_ca, ca);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("signer certificate is a CA"));
}

TEST_F(ReleaseSignerTest, CreateReleaseUnderACaMakesACodeSigningLeaf) {
  const std::string ca_key = dir_.Sub("corp-ca.key");
  const std::string ca = dir_.Sub("corp-ca.pem");
  ASSERT_EQ(RunShell(ShellQuote(BuildBin()) + " key create-ca --out-key " +
                     ShellQuote(ca_key) + " --out-cert " + ShellQuote(ca) +
                     " --subject '/O=Acme/CN=Acme release CA' --type ec:p256")
                .exit_code,
            0);
  const std::string key = dir_.Sub("leaf.key");
  const std::string cert = dir_.Sub("leaf.pem");
  CommandResult made =
      RunShell(ShellQuote(BuildBin()) + " key create-release --ca-key " +
               ShellQuote(ca_key) + " --ca-cert " + ShellQuote(ca) +
               " --out-key " + ShellQuote(key) + " --out-cert " +
               ShellQuote(cert) + " --subject '/O=Acme/CN=Acme release 2'");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string bundle = dir_.Sub("acme.imab");
  ASSERT_EQ(BuildSignedBy(key, cert, bundle).exit_code, 0);
  CommandResult r = RunVerify(bundle, ca, "--require-eku");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ReleaseSignerTest, MakeDevKeysMakesACodeSigningLeaf) {
  const std::string keys = dir_.Sub("dev-keys");
  CommandResult made =
      RunShell(ShellQuote(SourceDir() + "/scripts/make-dev-keys.sh") + " " +
               ShellQuote(keys));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string bundle = dir_.Sub("demo.imab");
  ASSERT_EQ(BuildSignedBy(keys + "/release.key", keys + "/release.pem", bundle)
                .exit_code,
            0);
  CommandResult r =
      RunVerify(bundle, keys + "/release-ca.pem", "--require-eku");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace imab::testing
