// The post-update trust decision as a pure function: every scenario is a
// manifest model and a device model built in memory, with real keys and
// real IMA/EVM signatures.
#include "verifier/trust_decision.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "builder/digest_signer.h"
#include "common/digest.h"
#include "common/evm_digest.h"
#include "common/ima_xattr.h"
#include "common/keyid.h"
#include "common/x509_util.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::CertOptions;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::TempDir;
using imab::testing::TestIdentity;

std::string Der(const X509* cert) { return CertificateDer(cert).value(); }

Ptr<X509> Dup(const TestIdentity& id) { return Ptr<X509>(X509_dup(id.cert.get())); }

uint32_t KeyIdOf(const TestIdentity& id) {
  return KeyIdFromCertificate(id.cert.get()).value();
}

Sha256Digest Sha(const std::string& bytes) {
  return Sha256Of(std::span<const uint8_t>(
                      reinterpret_cast<const uint8_t*>(bytes.data()),
                      bytes.size()))
      .value();
}

std::vector<uint8_t> Sign(const TestIdentity& id,
                          std::span<const uint8_t> digest) {
  return builder::SignDigestWithKey(id.key.get(), id.key.get(),
                                    HashAlgo::kSha256, digest, "test")
      .value();
}

// A regular file signed (IMA over its content, then EVM over its metadata)
// by `id`.
Entry SignedFile(const std::string& path, const TestIdentity* id,
                 uint32_t mode = 0755, uint32_t uid = 0) {
  Entry entry;
  entry.type = EntryType::kFile;
  entry.path = path;
  entry.mode = mode;
  entry.uid = uid;
  entry.gid = uid;
  entry.size = path.size();
  entry.sha256 = Sha("content of " + path);
  if (id != nullptr) {
    SetXattr(entry, kImaXattr,
             EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha256,
                               KeyIdOf(*id),
                               Sign(*id, entry.sha256)));
    std::vector<uint8_t> evm =
        EvmPortableDigest(entry, KernelProfile{}, HashAlgo::kSha256).value();
    SetXattr(entry, kEvmXattr,
             EncodeSignatureV2(XattrType::kEvmPortableDigsig,
                               HashAlgo::kSha256, KeyIdOf(*id),
                               Sign(*id, evm)));
  }
  return entry;
}

class TrustDecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeRootCa(dir_.path().string(), "kernel-ca");
    old_key_ = MakeIssued(dir_.path().string(), "old", ca_);
    new_key_ = MakeIssued(dir_.path().string(), "new", ca_);
    device_.kernel_cas.push_back(Dup(ca_));
    device_.ima_certs.push_back(Dup(old_key_));
    device_.evm_certs.push_back(Dup(old_key_));
  }

  // A bundle whose initramfs loads `key` (and declares it).
  ManifestHeader BundleLoading(const TestIdentity& key) {
    ManifestHeader header;
    header.ima.emplace();
    header.ima->certificates.push_back({KeyIdOf(key), Der(key.cert.get())});
    KeysSection keys;
    InitramfsRecord record;
    record.path = "boot/initramfs.img";
    record.evm_cert_sha256 = Sha(Der(key.cert.get()));
    record.ima_cert_sha256 = record.evm_cert_sha256;
    keys.initramfs.push_back(record);
    header.keys = std::move(keys);
    return header;
  }

  TrustVerdict Decide(const ManifestHeader& header,
                      const std::vector<Entry>& entries) {
    auto decider = TrustDecider::Create(header, device_);
    EXPECT_TRUE(decider.has_value());
    for (const Entry& e : entries) {
      (*decider)->Consider(e);
    }
    return (*decider)->Finish();
  }

  static std::vector<Entry> Image(const TestIdentity* libc_key,
                                  const TestIdentity* rest_key) {
    return {SignedFile("usr/bin/ls", rest_key),
            SignedFile("usr/lib/x86_64-linux-gnu/libc.so.6", libc_key),
            SignedFile("usr/sbin/sshd", rest_key)};
  }

  TempDir dir_;
  TestIdentity ca_, old_key_, new_key_;
  DeviceTrust device_;
};

TEST_F(TrustDecisionTest, RotatedKeyAndEverythingResignedIsAccepted) {
  TrustVerdict verdict =
      Decide(BundleLoading(new_key_), Image(&new_key_, &new_key_));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.appraised_files, 3u);
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
}

TEST_F(TrustDecisionTest, LibcLeftWithTheOldKeyIsListedFirst) {
  TrustVerdict verdict = Decide(
      BundleLoading(new_key_),
      {SignedFile("usr/bin/ls", &old_key_),
       SignedFile("usr/lib/x86_64-linux-gnu/libc.so.6", &old_key_),
       SignedFile("usr/sbin/sshd", &new_key_)});
  ASSERT_FALSE(verdict.accepted());
  ASSERT_EQ(verdict.files.size(), 2u);
  EXPECT_EQ(verdict.files[0].path, "usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_TRUE(verdict.files[0].critical);
  EXPECT_EQ(verdict.files[0].reason,
            "security.ima signed by keyid " + KeyIdHex(KeyIdOf(old_key_)) +
                ", not in the post-update .ima keyring {" +
                KeyIdHex(KeyIdOf(new_key_)) + "}");
  EXPECT_EQ(verdict.files[0].cause, "invalid-signature");
  EXPECT_NE(verdict.files[0].consequence.find("ld.so exit 127"),
            std::string::npos);
  EXPECT_EQ(verdict.files[1].path, "usr/bin/ls");
  EXPECT_FALSE(verdict.files[1].critical);
  EXPECT_NE(verdict.Summary().find("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            std::string::npos);
}

TEST_F(TrustDecisionTest, CertificateFromAnotherCaTrustsNothing) {
  TestIdentity stranger_ca = MakeRootCa(dir_.path().string(), "stranger");
  TestIdentity stranger = MakeIssued(dir_.path().string(), "s", stranger_ca);
  TrustVerdict verdict =
      Decide(BundleLoading(stranger), Image(&stranger, &stranger));
  ASSERT_FALSE(verdict.accepted());
  ASSERT_FALSE(verdict.keyring_problems.empty());
  EXPECT_NE(verdict.keyring_problems[0].find("would be refused by the kernel"),
            std::string::npos);
  EXPECT_NE(verdict.Summary().find("nothing would be trusted after reboot"),
            std::string::npos);
  EXPECT_EQ(verdict.files.size(), 3u);
}

TEST_F(TrustDecisionTest, DigitalSignatureRuleDependsOnTheKernelVersion) {
  CertOptions no_ds;
  no_ds.key_usage = "critical,keyEncipherment";
  TestIdentity key = MakeIssued(dir_.path().string(), "nods", ca_, no_ds);
  device_.kernel_version = {6, 6};
  TrustVerdict strict = Decide(BundleLoading(key), Image(&key, &key));
  ASSERT_FALSE(strict.accepted());
  EXPECT_NE(strict.Summary().find("digitalSignature"), std::string::npos)
      << strict.Summary();
  device_.kernel_version = {5, 15};
  TrustVerdict older = Decide(BundleLoading(key), Image(&key, &key));
  EXPECT_TRUE(older.accepted()) << older.Summary();
}

TEST_F(TrustDecisionTest, TwoCertificatesWithOneKeyidAreRefused) {
  CertOptions a, b;
  a.subject_key_id = "0102030405060708090a0b0c0d0e0f1011121314";
  b.subject_key_id = "ffffffffffffffffffffffffffffffff11121314";
  TestIdentity ka = MakeIssued(dir_.path().string(), "ka", ca_, a);
  TestIdentity kb = MakeIssued(dir_.path().string(), "kb", ca_, b);
  ASSERT_EQ(KeyIdOf(ka), KeyIdOf(kb));
  ManifestHeader header = BundleLoading(ka);
  header.ima->certificates.push_back({KeyIdOf(kb), Der(kb.cert.get())});
  header.keys->initramfs[0].ima_cert_sha256 = Sha(Der(kb.cert.get()));
  header.keys->initramfs.push_back(header.keys->initramfs[0]);
  // x509_ima.der (kb) goes to .ima, x509_evm.der (ka) to .evm: add both to
  // one keyring through the device's running set instead.
  device_.ima_certs.clear();
  device_.ima_certs.push_back(Dup(ka));
  device_.ima_certs.push_back(Dup(kb));
  ManifestHeader no_initramfs;
  TrustVerdict verdict = Decide(no_initramfs, Image(&ka, &ka));
  ASSERT_FALSE(verdict.accepted());
  EXPECT_NE(verdict.Summary().find("share keyid " + KeyIdHex(KeyIdOf(ka))),
            std::string::npos)
      << verdict.Summary();
}

TEST_F(TrustDecisionTest, InPlaceRotationIsRefusedAbAccepted) {
  ManifestHeader header = BundleLoading(new_key_);
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  EXPECT_TRUE(Decide(header, image).accepted());
  device_.in_place = true;
  TrustVerdict verdict = Decide(header, image);
  ASSERT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.files.size(), 3u);
  EXPECT_NE(verdict.files[0].reason.find("replaced in place before reboot"),
            std::string::npos);
  EXPECT_NE(verdict.files[0].reason.find("running .ima keyring"),
            std::string::npos);
}

TEST_F(TrustDecisionTest, BundleShippingANewKernelCaIsJudgedByIt) {
  TestIdentity new_ca = MakeRootCa(dir_.path().string(), "new-ca");
  TestIdentity key = MakeIssued(dir_.path().string(), "under-new", new_ca);
  ManifestHeader header = BundleLoading(key);
  EXPECT_FALSE(Decide(header, Image(&key, &key)).accepted());
  header.keys->kernel_cas.push_back(Der(new_ca.cert.get()));
  // Claimed only: no kernel shipped, the device's kernel (and CA) boots.
  TrustVerdict claimed = Decide(header, Image(&key, &key));
  EXPECT_FALSE(claimed.accepted());
  EXPECT_NE(claimed.Summary().find("would be refused by the kernel"),
            std::string::npos)
      << claimed.Summary();
  // Shipped: the kernel line (its bytes checked while streaming) counts.
  header.keys->kernels.push_back({"boot/vmlinuz-6.1", 6, 1});
  TrustVerdict verdict = Decide(header, Image(&key, &key));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.kernel_ca_ders,
            std::vector<std::string>{Der(new_ca.cert.get())});
}

TEST_F(TrustDecisionTest, UnsignedAppraisedFileIsRefusedExemptOneIsNot) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(SignedFile("home/app/data", nullptr, 0644, 1000));
  // appraise_tcb: only root-owned files are appraised.
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
  image.push_back(SignedFile("etc/hostname", nullptr, 0644, 0));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_EQ(verdict.files[0].path, "etc/hostname");
  EXPECT_EQ(verdict.files[0].reason, "no security.ima");
  EXPECT_NE(verdict.files[0].consequence.find("open() of it would fail"),
            std::string::npos);

  // Exempt root:root files by owner; everything else is appraised, so
  // home/app/data (1000:1000) is now refused instead.
  device_.policy =
      ImaPolicy::Parse("dont_appraise fowner=0 fgroup=0\nappraise\n", "p")
          .value();
  verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_EQ(verdict.files[0].path, "home/app/data");
  image.erase(image.end() - 2);
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
}

TEST_F(TrustDecisionTest, ChangedModeAfterSigningBreaksTheEvmSignature) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image[2].mode = 04755;
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_EQ(verdict.files[0].cause, "invalid-fail-immutable");
  EXPECT_NE(verdict.files[0].reason.find("changed after signing"),
            std::string::npos);
}

TEST_F(TrustDecisionTest, CriticalSymlinkMakesItsTargetCritical) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  Entry link;
  link.type = EntryType::kSymlink;
  link.path = "sbin/init";
  link.link_target = "../lib/systemd/systemd";
  image.push_back(link);
  image.push_back(SignedFile("lib/systemd/systemd", &old_key_));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_TRUE(verdict.files[0].critical);
  EXPECT_NE(verdict.files[0].consequence.find("could not start init"),
            std::string::npos);
}

TEST_F(TrustDecisionTest, NoInitramfsKeepsTheLoadedKeys) {
  ManifestHeader header;
  EXPECT_TRUE(Decide(header, Image(&old_key_, &old_key_)).accepted());
  EXPECT_FALSE(Decide(header, Image(&new_key_, &new_key_)).accepted());
}

TEST_F(TrustDecisionTest, UndeclaredInitramfsCertificateIsAProblem) {
  ManifestHeader header = BundleLoading(new_key_);
  header.ima->certificates.clear();
  TrustVerdict verdict = Decide(header, Image(&new_key_, &new_key_));
  ASSERT_FALSE(verdict.accepted());
  EXPECT_NE(verdict.Summary().find("the manifest does not declare"),
            std::string::npos);
}

TEST(ImaPolicyTest, FirstMatchingRuleDecides) {
  Result<ImaPolicy> policy = ImaPolicy::Parse(
      "# comment\n"
      "measure func=BPRM_CHECK\n"
      "dont_appraise fsmagic=0x9fa0\n"
      "dont_appraise fowner=1000\n"
      "appraise func=BPRM_CHECK appraise_type=imasig\n"
      "appraise fowner>999\n",
      "policy");
  ASSERT_TRUE(policy.has_value()) << policy.error().message;
  EXPECT_FALSE(policy->Evaluate(1000, 1000).appraised);
  Appraisal root = policy->Evaluate(0, 0);
  EXPECT_TRUE(root.appraised);  // func-only rules apply to all files
  EXPECT_TRUE(root.signature_required);
  EXPECT_EQ(root.line, 5);
  // A dont_appraise rule on something metadata cannot show exempts nothing.
  EXPECT_TRUE(policy->Evaluate(5, 5).appraised);
}

TEST(ImaPolicyTest, NoMatchingRuleMeansNotAppraised) {
  ImaPolicy policy = ImaPolicy::Parse("appraise fgroup=0\n", "p").value();
  EXPECT_FALSE(policy.Evaluate(0, 42).appraised);
  EXPECT_TRUE(ImaPolicy::AppraiseTcb().Evaluate(0, 42).appraised);
  EXPECT_FALSE(ImaPolicy::AppraiseTcb().Evaluate(1, 0).appraised);
}

TEST(ImaPolicyTest, UnknownTokensAreRefusedNamingTheLine) {
  Result<ImaPolicy> bad = ImaPolicy::Parse("appraise\nappraise colour=red\n",
                                           "/etc/ima-policy");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message,
            "/etc/ima-policy:2: unknown condition 'colour'");
  EXPECT_FALSE(ImaPolicy::Parse("apprise\n", "p").has_value());
  EXPECT_FALSE(ImaPolicy::Parse("appraise fowner=x\n", "p").has_value());
  EXPECT_FALSE(
      ImaPolicy::Parse("appraise appraise_type=other\n", "p").has_value());
}

}  // namespace
}  // namespace imab::verifier
