// The post-update trust decision as a pure function: every scenario is a
// manifest model and a device model built in memory, with real keys and
// real IMA/EVM signatures.
#include "verifier/trust/trust_decision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>

#include "builder/digest_signer.h"
#include "common/read/digest.h"
#include "common/read/evm_digest.h"
#include "common/read/hash_algo.h"
#include "common/read/hex.h"
#include "common/read/ima_xattr.h"
#include "common/read/keyid.h"
#include "common/read/x509_util.h"
#include "common/write/ima_xattr_writer.h"
#include "common/write/xattr_order.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::CertOptions;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;

std::string Der(const X509* cert) { return CertificateDer(cert).value(); }

Ptr<X509> Dup(const TestIdentity& id) {
  return Ptr<X509>(X509_dup(id.cert.get()));
}

uint32_t KeyIdOf(const TestIdentity& id) {
  return KeyIdFromCertificate(id.cert.get()).value();
}

Sha256Digest Sha(const std::string& bytes) {
  return Sha256Of(
             std::span<const uint8_t>(
                 reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
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
                               KeyIdOf(*id), Sign(*id, entry.sha256)));
    std::vector<uint8_t> evm =
        EvmPortableDigest(entry, KernelProfile{}, HashAlgo::kSha256).value();
    SetXattr(entry, kEvmXattr,
             EncodeSignatureV2(XattrType::kEvmPortableDigsig, HashAlgo::kSha256,
                               KeyIdOf(*id), Sign(*id, evm)));
  }
  return entry;
}

// A regular file whose security.ima is the digest form `ima` and whose
// security.evm is a portable signature by `id` over its metadata.
Entry DigestFile(const std::string& path, const TestIdentity& id,
                 const std::string& ima) {
  Entry entry = SignedFile(path, nullptr);
  SetXattr(entry, kImaXattr, ima);
  std::vector<uint8_t> evm =
      EvmPortableDigest(entry, KernelProfile{}, HashAlgo::kSha256).value();
  SetXattr(entry, kEvmXattr,
           EncodeSignatureV2(XattrType::kEvmPortableDigsig, HashAlgo::kSha256,
                             KeyIdOf(id), Sign(id, evm)));
  return entry;
}

std::string Sha256DigestXattr(const Entry& entry) {
  return EncodeImaDigest(HashAlgo::kSha256, entry.sha256);
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
    return {SignedFile("sbin/init", rest_key),
            SignedFile("usr/bin/ls", rest_key),
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
  EXPECT_EQ(verdict.appraised_files, 4u);
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
}

TEST_F(TrustDecisionTest, LibcLeftWithTheOldKeyIsListedFirst) {
  TrustVerdict verdict = Decide(
      BundleLoading(new_key_),
      {SignedFile("sbin/init", &new_key_), SignedFile("usr/bin/ls", &old_key_),
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
  EXPECT_THAT(verdict.files[0].consequence, HasSubstr("ld.so exit 127"));
  EXPECT_EQ(verdict.files[1].path, "usr/bin/ls");
  EXPECT_FALSE(verdict.files[1].critical);
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("/usr/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST_F(TrustDecisionTest, CertificateFromAnotherCaTrustsNothing) {
  TestIdentity stranger_ca = MakeRootCa(dir_.path().string(), "stranger");
  TestIdentity stranger = MakeIssued(dir_.path().string(), "s", stranger_ca);
  TrustVerdict verdict =
      Decide(BundleLoading(stranger), Image(&stranger, &stranger));
  ASSERT_FALSE(verdict.accepted());
  ASSERT_FALSE(verdict.keyring_problems.empty());
  EXPECT_THAT(verdict.keyring_problems[0],
              HasSubstr("would be refused by the kernel"));
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("nothing would be trusted after reboot"));
  EXPECT_EQ(verdict.files.size(), 4u);
}

TEST_F(TrustDecisionTest, DigitalSignatureRuleDependsOnTheKernelVersion) {
  CertOptions no_ds;
  no_ds.key_usage = "critical,keyEncipherment";
  TestIdentity key = MakeIssued(dir_.path().string(), "nods", ca_, no_ds);
  // 6.12 has the rule, 6.1 has not; a version between them gets both.
  for (KernelVersion strict_version :
       {KernelVersion{6, 12}, KernelVersion{6, 6}, KernelVersion{7, 0}}) {
    device_.kernel_version = strict_version;
    TrustVerdict strict = Decide(BundleLoading(key), Image(&key, &key));
    ASSERT_FALSE(strict.accepted());
    EXPECT_THAT(strict.Summary(),
                HasSubstr("keyUsage lacks digitalSignature (rules "
                          "of kernel 6.12 and later"));
    EXPECT_THAT(strict.Summary(),
                HasSubstr("Problem loading X.509 certificate -126"));
  }
  for (KernelVersion lax : {KernelVersion{6, 1}, KernelVersion{5, 15}}) {
    device_.kernel_version = lax;
    TrustVerdict older = Decide(BundleLoading(key), Image(&key, &key));
    EXPECT_TRUE(older.accepted()) << older.Summary();
  }
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
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("share keyid " + KeyIdHex(KeyIdOf(ka))));
}

TEST_F(TrustDecisionTest, InPlaceRotationIsRefusedAbAccepted) {
  ManifestHeader header = BundleLoading(new_key_);
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  EXPECT_TRUE(Decide(header, image).accepted());
  device_.in_place = true;
  TrustVerdict verdict = Decide(header, image);
  ASSERT_FALSE(verdict.accepted());
  EXPECT_EQ(verdict.files.size(), 4u);
  EXPECT_THAT(verdict.files[0].reason,
              HasSubstr("replaced in place before reboot"));
  EXPECT_THAT(verdict.files[0].reason, HasSubstr("running .ima keyring"));
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
  EXPECT_THAT(claimed.Summary(), HasSubstr("would be refused by the kernel"));
  // Shipped: the kernel line (its bytes checked while streaming) counts.
  header.keys->kernels.push_back({"boot/vmlinuz-6.1", 6, 1});
  TrustVerdict verdict = Decide(header, Image(&key, &key));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.kernel_ca_ders,
            std::vector<std::string>{Der(new_ca.cert.get())});
}

// A shipped kernel with no kernel CA declared is not judged with the
// device's CAs (it boots with whatever it carries): refused.
TEST_F(TrustDecisionTest, ShippedKernelWithoutKernelCaIsRefused) {
  ManifestHeader header = BundleLoading(new_key_);
  ASSERT_TRUE(Decide(header, Image(&new_key_, &new_key_)).accepted());
  header.keys->kernels.push_back({"boot/vmlinuz-6.1", 6, 1});
  TrustVerdict verdict = Decide(header, Image(&new_key_, &new_key_));
  EXPECT_FALSE(verdict.accepted());
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("declares none of the CAs built into it"));
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
  EXPECT_THAT(verdict.files[0].consequence,
              HasSubstr("open() of it would fail"));

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
  image[3].mode = 04755;
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_EQ(verdict.files[0].cause, "invalid-fail-immutable");
  EXPECT_THAT(verdict.files[0].reason, HasSubstr("changed after signing"));
}

TEST_F(TrustDecisionTest, CriticalSymlinkMakesItsTargetCritical) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.erase(image.begin());  // sbin/init becomes the link
  Entry link;
  link.type = EntryType::kSymlink;
  link.path = "sbin/init";
  link.link_target = "../lib/systemd/systemd";
  image.push_back(link);
  image.push_back(SignedFile("lib/systemd/systemd", &old_key_));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_TRUE(verdict.files[0].critical);
  EXPECT_THAT(verdict.files[0].consequence, HasSubstr("could not start init"));
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
  EXPECT_THAT(verdict.Summary(), HasSubstr("the manifest does not declare"));
}

// --- The critical closure: hardlinks, symlink chains, init, programs. ---

Entry Link(const std::string& path, const std::string& target,
           EntryType type = EntryType::kSymlink) {
  Entry entry;
  entry.type = type;
  entry.path = path;
  entry.mode = 0777;
  entry.link_target = target;
  return entry;
}

Entry Folder(const std::string& path) {
  Entry entry;
  entry.type = EntryType::kDir;
  entry.path = path;
  entry.mode = 0755;
  return entry;
}

// An image without libc or init; each test adds its own.
std::vector<Entry> Base(const TestIdentity& key) {
  return {SignedFile("usr/bin/ls", &key), SignedFile("usr/sbin/sshd", &key)};
}

const TrustFinding* FindingFor(const TrustVerdict& verdict,
                               const std::string& path) {
  for (const TrustFinding& f : verdict.files) {
    if (f.path == path) {
      return &f;
    }
  }
  return nullptr;
}

// The kernel appraises the inode: a libc hardlinked to a user's file is
// that file, judged by its owner (fowner) at each hook.
TEST_F(TrustDecisionTest, LibcHardlinkedToAnUnsignedUserFileIsCritical) {
  for (const char* libc :
       {"usr/lib/x86_64-linux-gnu/libc.so.6", "lib/libc-2.31.so"}) {
    std::vector<Entry> image = Base(new_key_);
    image.push_back(SignedFile("sbin/init", &new_key_));
    image.push_back(SignedFile("home/user/evil", nullptr, 0755, 1000));
    image.push_back(Link(libc, "home/user/evil", EntryType::kHardlink));
    // appraise_tcb appraises root's files only: the kernel never looks.
    device_.policy = ImaPolicy::AppraiseTcb();
    EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted()) << libc;
    device_.policy =
        ImaPolicy::Parse("appraise func=MMAP_CHECK\n", "p").value();
    TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
    ASSERT_FALSE(verdict.accepted()) << libc;
    ASSERT_EQ(verdict.files.size(), 1u);
    EXPECT_EQ(verdict.files[0].path, "home/user/evil");
    EXPECT_TRUE(verdict.files[0].critical);
    EXPECT_EQ(verdict.files[0].reason, "no security.ima");
    EXPECT_EQ(verdict.files[0].hooks, std::vector<std::string>{"MMAP_CHECK"});
    EXPECT_THAT(
        verdict.files[0].consequence,
        HasSubstr("appraised at MMAP_CHECK (mmap PROT_EXEC): every "
                  "dynamically linked program, init included, would fail to "
                  "map libc (ld.so exit 127, \"failed to map segment\")"));
  }
}

TEST_F(TrustDecisionTest, InitSymlinkChainsAreFollowedToTheirEnd) {
  // One hop; then two hops through a symlinked folder (lib -> usr/lib)
  // and an absolute target; then a relative hop with "..".
  const std::vector<std::vector<Entry>> links = {
      {Link("sbin/init", "/home/user/init")},
      {Link("lib", "usr/lib"), Link("sbin/init", "../lib/init-real"),
       Link("usr/lib/init-real", "/home/user/init")},
      {Link("sbin/init", "../usr/./lib/../../home/user/init")},
  };
  for (const std::vector<Entry>& chain : links) {
    std::vector<Entry> image = Base(new_key_);
    image.push_back(Folder("usr/lib"));
    image.push_back(Folder("home/user"));
    image.push_back(SignedFile("home/user/init", nullptr, 0755, 1000));
    image.insert(image.end(), chain.begin(), chain.end());
    device_.policy = ImaPolicy::AppraiseTcb();  // not root's: not appraised
    EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
    device_.policy =
        ImaPolicy::Parse("appraise func=BPRM_CHECK\n", "p").value();
    TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
    ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
    EXPECT_EQ(verdict.files[0].path, "home/user/init");
    EXPECT_TRUE(verdict.files[0].critical);
    EXPECT_THAT(
        verdict.files[0].consequence,
        HasSubstr("appraised at BPRM_CHECK (execve): the kernel could not "
                  "start init (execve EACCES"));
    // Signed, the same chain is accepted.
    image[4] = SignedFile("home/user/init", &new_key_, 0755, 1000);
    EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted())
        << Decide(BundleLoading(new_key_), image).Summary();
  }
}

TEST_F(TrustDecisionTest, DanglingOrLoopingCriticalSymlinkIsAFinding) {
  for (const std::vector<Entry>& chain : std::vector<std::vector<Entry>>{
           {Link("sbin/init", "../usr/lib/systemd/systemd")},
           {Link("sbin/init", "init2"), Link("sbin/init2", "init")}}) {
    std::vector<Entry> image = Base(new_key_);
    image.insert(image.end(), chain.begin(), chain.end());
    TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
    const TrustFinding* init = FindingFor(verdict, "sbin/init");
    ASSERT_NE(init, nullptr) << verdict.Summary();
    EXPECT_TRUE(init->critical);
    EXPECT_EQ(init->cause, "missing-file");
  }
}

// The decision after the stream, with program dependencies fed in.
TrustVerdict DecideWithPrograms(
    const ManifestHeader& header, const DeviceTrust& device,
    const std::vector<Entry>& entries,
    const std::vector<std::pair<std::string, ProgramDeps>>& programs,
    TrustVerdict* before = nullptr) {
  auto decider = TrustDecider::Create(header, device);
  EXPECT_TRUE(decider.has_value());
  for (const Entry& e : entries) {
    (*decider)->Consider(e);
  }
  if (before != nullptr) {
    *before = (*decider)->Finish();
  }
  for (const auto& [path, deps] : programs) {
    (*decider)->ConsiderProgram(path, deps);
  }
  return (*decider)->FinishContent();
}

TEST_F(TrustDecisionTest, CriticalChainEndingAtANonFileIsAFinding) {
  Entry console = Folder("dev/console");
  console.type = EntryType::kChar;
  const std::vector<std::pair<Entry, std::string>> cases = {
      {Link("sbin/init", "/dev/console"), "is a char"},
      {Link("sbin/init", "/etc/hostname/init"), "is not a folder"},
      // The kernel passes over a folder: then no init is left.
      {Link("sbin/init", "/usr/bin"), "no init in the image"},
  };
  for (const auto& [link, says] : cases) {
    std::vector<Entry> image = Base(new_key_);
    image.push_back(Folder("usr/bin"));
    image.push_back(SignedFile("etc/hostname", &new_key_));
    image.push_back(console);
    image.push_back(link);
    TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
    const TrustFinding* init = FindingFor(verdict, "sbin/init");
    ASSERT_NE(init, nullptr) << verdict.Summary();
    EXPECT_THAT(init->reason, HasSubstr(says));
  }
  // An ELF interpreter that is a folder.
  std::vector<Entry> image = Base(new_key_);
  image.push_back(SignedFile("sbin/init", &new_key_));
  ProgramDeps deps;
  deps.interpreter = "/usr/sbin";
  TrustVerdict verdict = DecideWithPrograms(BundleLoading(new_key_), device_,
                                            image, {{"sbin/init", deps}});
  const TrustFinding* interp = FindingFor(verdict, "usr/sbin");
  ASSERT_NE(interp, nullptr) << verdict.Summary();
  EXPECT_THAT(interp->reason, HasSubstr("is a folder"));
}

TEST_F(TrustDecisionTest, AnImageWithoutInitIsRefused) {
  TrustVerdict verdict = Decide(BundleLoading(new_key_), Base(new_key_));
  ASSERT_EQ(verdict.files.size(), 1u);
  EXPECT_EQ(verdict.files[0].cause, "no-init");
  EXPECT_THAT(verdict.files[0].consequence, HasSubstr("No working init found"));
  // The kernel's search passes over a folder (upstart's /etc/init) and
  // goes on to /bin/sh.
  std::vector<Entry> image = Base(new_key_);
  image.push_back(Folder("etc/init"));
  image.push_back(SignedFile("bin/sh", &new_key_));
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
  image.push_back(SignedFile("bin/init", nullptr, 0755, 1000));
  // The kernel does not appraise uid 1000's init under appraise_tcb.
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
  device_.policy = ImaPolicy::Parse("appraise func=BPRM_CHECK\n", "p").value();
  TrustVerdict first = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(first.files.size(), 1u);
  EXPECT_EQ(first.files[0].path, "bin/init");  // found before /bin/sh
  EXPECT_TRUE(first.files[0].critical);
  EXPECT_THAT(first.files[0].consequence, HasSubstr("could not start init"));
  image.pop_back();
  // Merged /usr: sbin -> usr/sbin, the init is usr/sbin/init.
  std::vector<Entry> merged = Base(new_key_);
  merged.push_back(Link("sbin", "usr/sbin"));
  merged.push_back(SignedFile("usr/sbin/init", &new_key_));
  EXPECT_TRUE(Decide(BundleLoading(new_key_), merged).accepted());
  merged.back() = SignedFile("usr/sbin/init", nullptr, 0755, 1000);
  TrustVerdict init = Decide(BundleLoading(new_key_), merged);
  ASSERT_EQ(init.files.size(), 1u);
  EXPECT_TRUE(init.files[0].critical);
  // device.conf names another init: only that one counts.
  device_.init = "/usr/bin/app";
  TrustVerdict named = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(named.files.size(), 1u);
  EXPECT_THAT(named.files[0].consequence,
              HasSubstr("Requested init /usr/bin/app"));
  image.push_back(SignedFile("usr/bin/app", nullptr, 0755, 1000));
  named = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(named.files.size(), 1u);
  EXPECT_EQ(named.files[0].path, "usr/bin/app");
  EXPECT_THAT(named.files[0].consequence, HasSubstr("could not start init"));
}

TEST_F(TrustDecisionTest, InterpreterAndLibrariesOfInitAreCritical) {
  std::vector<Entry> image = Base(new_key_);
  image.push_back(SignedFile("sbin/init", &new_key_));
  image.push_back(Folder("usr/lib/x86_64-linux-gnu"));
  image.push_back(SignedFile("opt/ld.so", nullptr, 0755, 1000));
  image.push_back(
      SignedFile("usr/lib/x86_64-linux-gnu/libfoo.so.1", nullptr, 0644, 1000));
  image.push_back(SignedFile("opt/rpath/libbar.so", nullptr, 0644, 1000));
  // The kernel opens the ELF interpreter with open_exec() (MAY_EXEC):
  // only its content shows that opt/ld.so is one.
  device_.policy =
      ImaPolicy::Parse("appraise func=FILE_CHECK mask=MAY_EXEC\n", "p").value();
  ProgramDeps interp;
  interp.interpreter = "/opt/ld.so";
  TrustVerdict before;
  TrustVerdict after =
      DecideWithPrograms(BundleLoading(new_key_), device_, image,
                         {{"sbin/init", interp}}, &before);
  EXPECT_TRUE(before.accepted()) << before.Summary();
  ASSERT_EQ(after.files.size(), 1u) << after.Summary();
  EXPECT_EQ(after.files[0].path, "opt/ld.so");
  EXPECT_TRUE(after.files[0].critical);
  EXPECT_EQ(after.files[0].hooks, std::vector<std::string>{"FILE_CHECK"});
  EXPECT_THAT(
      after.files[0].consequence,
      HasSubstr("appraised at FILE_CHECK mask=MAY_EXEC (execve's open): the "
                "kernel could not open it as the ELF interpreter: execve of "
                "every program using it would fail with EACCES, so the "
                "kernel could not start init"));
  // A static init has no interpreter: nothing opens opt/ld.so that way.
  EXPECT_TRUE(DecideWithPrograms(BundleLoading(new_key_), device_, image, {})
                  .accepted());

  // A needed library in a multiarch folder, another through $ORIGIN, one
  // needed by a library (transitively): ld.so opens and maps them, which
  // MMAP_CHECK sees before the stream already, for every file; the
  // stream shows init needs them.
  device_.policy = ImaPolicy::Parse("appraise func=MMAP_CHECK\n", "p").value();
  ProgramDeps needs;
  needs.needed = {"libfoo.so.1"};
  ProgramDeps foo;
  foo.needed = {"libbar.so"};
  foo.runpath = {"$ORIGIN/../../../opt/rpath"};
  after = DecideWithPrograms(
      BundleLoading(new_key_), device_, image,
      {{"sbin/init", needs}, {"usr/lib/x86_64-linux-gnu/libfoo.so.1", foo}},
      &before);
  EXPECT_EQ(before.files.size(), 3u) << before.Summary();
  ASSERT_EQ(after.files.size(), 3u) << after.Summary();
  for (const char* lib :
       {"usr/lib/x86_64-linux-gnu/libfoo.so.1", "opt/rpath/libbar.so"}) {
    const TrustFinding* f = FindingFor(after, lib);
    ASSERT_NE(f, nullptr) << lib;
    EXPECT_TRUE(f->critical) << lib;
    EXPECT_THAT(
        f->consequence,
        HasSubstr("appraised at MMAP_CHECK (mmap PROT_EXEC): ld.so could not "
                  "map it (exit 127, \"failed to map segment from shared "
                  "object\"), so the kernel could not start init"));
  }
  EXPECT_FALSE(FindingFor(after, "opt/ld.so")->critical);

  // A library that is nowhere, and a program whose ELF could not be read.
  device_.policy = ImaPolicy::AppraiseTcb();
  needs.needed = {"libmissing.so.3"};
  after = DecideWithPrograms(BundleLoading(new_key_), device_, image,
                             {{"sbin/init", needs}});
  ASSERT_EQ(after.files.size(), 1u);
  EXPECT_EQ(after.files[0].cause, "missing-library");
  ProgramDeps unreadable;
  unreadable.error = "dynamic section beyond the bytes read";
  after = DecideWithPrograms(BundleLoading(new_key_), device_, image,
                             {{"sbin/init", unreadable}});
  ASSERT_EQ(after.files.size(), 1u);
  EXPECT_EQ(after.files[0].cause, "unknown-dependencies");

  // A static init (no dependencies recorded) needs nothing.
  EXPECT_TRUE(DecideWithPrograms(BundleLoading(new_key_), device_, image, {})
                  .accepted());
}

// --- Per hook: the kernel appraises a file only where a rule reaches it.

ImaPolicy PolicyOf(const std::string& text) {
  return ImaPolicy::Parse(text, "p").value();
}

// Signed init, ls and ld.so, and a libc (of `libc_mode`) left unsigned.
std::vector<Entry> UnsignedLibcImage(const TestIdentity& key,
                                     uint32_t libc_mode) {
  return {SignedFile("sbin/init", &key), SignedFile("usr/bin/ls", &key),
          SignedFile("lib64/ld-linux-x86-64.so.2", &key),
          SignedFile("usr/lib/x86_64-linux-gnu/libc.so.6", nullptr, libc_mode)};
}

// ima_bprm_check() is called for the program execve() runs; libc is
// mapped, never executed, whatever its mode (Debian ships it 0755).
TEST_F(TrustDecisionTest, BprmCheckOnlyPolicyLeavesLibcAlone) {
  device_.policy = PolicyOf("appraise func=BPRM_CHECK appraise_type=imasig\n");
  for (uint32_t mode : {0755u, 0644u}) {
    TrustVerdict verdict =
        Decide(BundleLoading(new_key_), UnsignedLibcImage(new_key_, mode));
    EXPECT_TRUE(verdict.accepted()) << mode << ": " << verdict.Summary();
  }
  std::vector<Entry> image = UnsignedLibcImage(new_key_, 0755);
  image.push_back(SignedFile("usr/bin/tool", nullptr));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].path, "usr/bin/tool");
  EXPECT_FALSE(verdict.files[0].critical);
  EXPECT_EQ(verdict.files[0].hooks, std::vector<std::string>{"BPRM_CHECK"});
  EXPECT_EQ(verdict.files[0].consequence,
            "audit cause IMA-signature-required; appraised at BPRM_CHECK "
            "(execve): execve of it would fail with EACCES");
}

// ima_file_mmap() appraises whatever is mapped PROT_EXEC: libc by ld.so,
// and any other file a process maps so.
TEST_F(TrustDecisionTest, MmapCheckOnlyPolicyRefusesUnsignedLibcAndPrograms) {
  device_.policy = PolicyOf("appraise func=MMAP_CHECK mask=MAY_EXEC\n");
  for (uint32_t mode : {0755u, 0644u}) {
    TrustVerdict verdict =
        Decide(BundleLoading(new_key_), UnsignedLibcImage(new_key_, mode));
    ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
    EXPECT_TRUE(verdict.files[0].critical);
    EXPECT_EQ(verdict.files[0].hooks, std::vector<std::string>{"MMAP_CHECK"});
    EXPECT_EQ(verdict.files[0].consequence,
              "audit cause missing-hash; appraised at MMAP_CHECK (mmap "
              "PROT_EXEC): every dynamically linked program, init included, "
              "would fail to map libc (ld.so exit 127, \"failed to map "
              "segment\")");
  }
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(SignedFile("usr/bin/tool", nullptr));
  image.push_back(SignedFile("etc/motd", nullptr, 0644));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 2u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].hooks, std::vector<std::string>{"MMAP_CHECK"});
  EXPECT_THAT(
      verdict.files[0].consequence,
      HasSubstr("appraised at MMAP_CHECK (mmap PROT_EXEC): mmap(PROT_EXEC) "
                "of it would fail with EACCES, and an ELF program would be "
                "killed (SIGSEGV) at execve"));
  EXPECT_EQ(verdict.files[1].path, "etc/motd");
  EXPECT_EQ(verdict.files[1].hooks, std::vector<std::string>{"MMAP_CHECK"});
}

// Each kernel that may boot appraises at its own hooks: 6.12's
// MMAP_CHECK_REQPROT meets a rule without func= that 6.1 never asks.
TEST_F(TrustDecisionTest, MmapCheckReqprotCountsWhereAKernelHasIt) {
  const std::string text =
      "dont_appraise func=MMAP_CHECK\n"
      "dont_appraise func=FILE_CHECK\n"
      "appraise\n";
  device_.kernel_version = KernelVersion{6, 1};
  device_.policy_context.grammar.version = device_.kernel_version;
  device_.policy = ImaPolicy::Parse(text, "p", device_.policy_context).value();
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(SignedFile("etc/motd", nullptr, 0644));
  ManifestHeader header = BundleLoading(new_key_);
  EXPECT_TRUE(Decide(header, image).accepted());
  header.keys->kernel_cas.push_back(Der(ca_.cert.get()));
  header.keys->kernels.push_back({"boot/vmlinuz-6.12", 6, 12});
  TrustVerdict verdict = Decide(header, image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].path, "etc/motd");
  EXPECT_EQ(verdict.files[0].hooks,
            std::vector<std::string>{"MMAP_CHECK_REQPROT"});
}

// FILE_CHECK with MAY_EXEC: the open of execve() and of open_exec(), never
// ld.so's open of a library (O_RDONLY: MAY_READ).
TEST_F(TrustDecisionTest, FileCheckMayExecPolicyReachesOnlyWhatIsExecuted) {
  device_.policy = PolicyOf("appraise func=FILE_CHECK mask=MAY_EXEC\n");
  EXPECT_TRUE(Decide(BundleLoading(new_key_), UnsignedLibcImage(new_key_, 0755))
                  .accepted());
  std::vector<Entry> image = UnsignedLibcImage(new_key_, 0755);
  image.push_back(SignedFile("usr/bin/tool", nullptr));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].path, "usr/bin/tool");
  EXPECT_EQ(verdict.files[0].hooks, std::vector<std::string>{"FILE_CHECK"});
  EXPECT_THAT(
      verdict.files[0].consequence,
      HasSubstr("appraised at FILE_CHECK mask=MAY_EXEC (execve's open): "
                "execve of it would fail with EACCES"));
}

// search_binary_handler() runs the bprm hook again for a "#!"
// interpreter: under a BPRM_CHECK policy an unsigned interpreter of the
// init script fails there, and so does one that is a shared object by
// name (not a program before its content is known).
TEST_F(TrustDecisionTest, BprmCheckReachesTheInterpreterOfAScript) {
  device_.policy = PolicyOf("appraise func=BPRM_CHECK\n");
  std::vector<Entry> image = Base(new_key_);
  image.push_back(SignedFile("sbin/init", &new_key_));
  image.push_back(SignedFile("usr/bin/sh", nullptr));
  image.push_back(SignedFile("opt/run.so", nullptr));
  ProgramDeps script;
  script.script = true;
  for (const char* interpreter : {"usr/bin/sh", "opt/run.so"}) {
    script.interpreter = "/" + std::string(interpreter);
    TrustVerdict before;
    TrustVerdict after =
        DecideWithPrograms(BundleLoading(new_key_), device_, image,
                           {{"sbin/init", script}}, &before);
    const TrustFinding* f = FindingFor(after, interpreter);
    ASSERT_NE(f, nullptr) << after.Summary();
    EXPECT_TRUE(f->critical);
    EXPECT_EQ(f->hooks, std::vector<std::string>{"BPRM_CHECK"});
    EXPECT_THAT(
        f->consequence,
        HasSubstr("appraised at BPRM_CHECK (execve): execve of it, and of "
                  "every script naming it, would fail with EACCES, so the "
                  "kernel could not start init"));
    // A program is appraised before the stream already; opt/run.so only
    // once the script names it.
    EXPECT_EQ(FindingFor(before, interpreter) != nullptr,
              std::string(interpreter) == "usr/bin/sh");
    EXPECT_EQ(FindingFor(after, "opt/run.so") != nullptr,
              std::string(interpreter) == "opt/run.so");
  }
}

// Default critical files count only where the kernel appraises them;
// device.conf's own `critical` patterns are the owner's demand that what
// they name verifies anyway (device.conf.md).
TEST_F(TrustDecisionTest, OwnCriticalPatternsMustVerifyWhereNoHookAppraises) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(SignedFile("usr/bin/imab-verify", nullptr, 0755, 1000));
  image.push_back(SignedFile("opt/app/bin/main", nullptr, 0755, 1000));
  image.push_back(Link("opt/app/current", "bin/main"));
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
  for (const char* pattern : {"opt/app/bin/*", "opt/app/current"}) {
    device_.critical = DefaultCriticalFiles();
    device_.critical.push_back(pattern);
    device_.owner_critical = {pattern};
    TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
    ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
    const TrustFinding& f = verdict.files[0];
    EXPECT_EQ(f.path, "opt/app/bin/main");
    EXPECT_TRUE(f.critical);
    EXPECT_EQ(f.reason, "no security.ima");
    EXPECT_TRUE(f.hooks.empty());
    EXPECT_EQ(f.consequence,
              "the IMA policy appraises it at no hook, so the kernel would "
              "not refuse it; device.conf's `critical = " +
                  std::string(pattern) + "` requires it to verify");
  }
  // Signed, it passes.
  image[image.size() - 2] =
      SignedFile("opt/app/bin/main", &new_key_, 0755, 1000);
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
}

// A file whose IMA signature by `ima` is over the `algo` digest of its
// content (written to `digest`), EVM-signed by `evm`.
Entry ShaFile(const std::string& path, const TestIdentity& ima,
              const TestIdentity& evm, HashAlgo algo,
              std::vector<uint8_t>* digest) {
  const std::string content = "content of " + path;
  digest->assign(EVP_MAX_MD_SIZE, 0);
  unsigned int size = 0;
  EVP_Digest(content.data(), content.size(), digest->data(), &size,
             HashAlgoMd(algo), nullptr);
  digest->resize(size);
  Entry file = SignedFile(path, nullptr);
  std::vector<uint8_t> sig =
      builder::SignDigestWithKey(ima.key.get(), ima.key.get(), algo, *digest,
                                 "test")
          .value();
  SetXattr(file, kImaXattr,
           EncodeSignatureV2(XattrType::kDigsig, algo, KeyIdOf(ima), sig));
  std::vector<uint8_t> meta =
      EvmPortableDigest(file, KernelProfile{}, HashAlgo::kSha256).value();
  SetXattr(file, kEvmXattr,
           EncodeSignatureV2(XattrType::kEvmPortableDigsig, HashAlgo::kSha256,
                             KeyIdOf(evm), Sign(evm, meta)));
  return file;
}

// The verdicts before and after the stream of an image whose last entry
// is `file` with content digest `digest`.
std::pair<TrustVerdict, TrustVerdict> DecideStreamed(
    const ManifestHeader& header, const DeviceTrust& device,
    std::vector<Entry> image, const Entry& file,
    const std::vector<uint8_t>& digest) {
  image.push_back(file);
  auto decider = TrustDecider::Create(header, device);
  EXPECT_TRUE(decider.has_value());
  for (const Entry& e : image) {
    (*decider)->Consider(e);
  }
  TrustVerdict before = (*decider)->Finish();
  for (const Entry& e : image) {
    if ((*decider)->ContentDigestAlgo(e).has_value()) {
      (*decider)->ConsiderContent(e, digest);
    }
  }
  return {std::move(before), (*decider)->FinishContent()};
}

// A SHA-384 signature: the manifest pins no SHA-384 digest, so the keyid
// alone decides until the content's digest arrives.
TEST_F(TrustDecisionTest, Sha384SignatureByAnotherKeyWithTheSameKeyidFails) {
  CertOptions same;
  same.subject_key_id = "0102030405060708090a0b0c0d0e0f1011121314";
  TestIdentity k1 = MakeIssued(dir_.path().string(), "k1", ca_, same);
  TestIdentity k2 = MakeIssued(dir_.path().string(), "k2", ca_, same);
  ASSERT_EQ(KeyIdOf(k1), KeyIdOf(k2));
  device_.ima_certs.clear();
  device_.ima_certs.push_back(Dup(k1));
  device_.evm_certs.clear();
  device_.evm_certs.push_back(Dup(k1));
  std::vector<Entry> image = Base(k1);
  image.push_back(SignedFile("sbin/init", &k1));
  for (HashAlgo algo : {HashAlgo::kSha384, HashAlgo::kSha512}) {
    for (const TestIdentity* signer : {&k1, &k2}) {
      std::vector<uint8_t> digest;
      Entry file = ShaFile("usr/bin/app", *signer, k1, algo, &digest);
      ASSERT_EQ(TrustDecider::Create(ManifestHeader{}, device_)
                    .value()
                    ->ContentDigestAlgo(file),
                algo);
      auto [before, after] =
          DecideStreamed(ManifestHeader{}, device_, image, file, digest);
      EXPECT_TRUE(before.accepted()) << before.Summary();
      if (signer == &k1) {
        EXPECT_TRUE(after.accepted()) << after.Summary();
      } else {
        ASSERT_EQ(after.files.size(), 1u);
        EXPECT_EQ(after.files[0].path, "usr/bin/app");
        EXPECT_THAT(after.files[0].reason, HasSubstr("does not verify"));
      }
    }
  }
}

// The streaming ImaChecker verifies every signature under the certificate
// the manifest declares for its keyid: when that is the device's key, no
// second digest is needed; when another key has the keyid, it is.
TEST_F(TrustDecisionTest, ContentDigestOnlyWhenTheDeclaredKeyIsAnother) {
  CertOptions same;
  same.subject_key_id = "0102030405060708090a0b0c0d0e0f1011121399";
  TestIdentity k1 = MakeIssued(dir_.path().string(), "k1", ca_, same);
  TestIdentity k2 = MakeIssued(dir_.path().string(), "k2", ca_, same);
  device_.ima_certs.clear();
  device_.ima_certs.push_back(Dup(k1));
  std::vector<uint8_t> digest;
  for (const TestIdentity* declared : {&k1, &k2}) {
    ManifestHeader header;
    header.ima.emplace();
    header.ima->certificates.push_back(
        {KeyIdOf(*declared), Der(declared->cert.get())});
    Entry file =
        ShaFile("usr/bin/app", *declared, old_key_, HashAlgo::kSha384, &digest);
    auto decider = TrustDecider::Create(header, device_).value();
    EXPECT_EQ(decider->ContentDigestAlgo(file).has_value(), declared == &k2);
  }
}

// In place, the file is opened under the running keys before the reboot:
// K2 is loaded after reboot, the running K1 has its keyid.
TEST_F(TrustDecisionTest, InPlaceSha512SignatureMustVerifyUnderTheRunningKey) {
  CertOptions same;
  same.subject_key_id = "0102030405060708090a0b0c0d0e0f10aabbccdd";
  TestIdentity k1 = MakeIssued(dir_.path().string(), "k1", ca_, same);
  TestIdentity k2 = MakeIssued(dir_.path().string(), "k2", ca_, same);
  device_.ima_certs.clear();
  device_.ima_certs.push_back(Dup(k1));
  device_.evm_certs.clear();
  device_.evm_certs.push_back(Dup(old_key_));
  // The initramfs loads K2 into .ima and the old key into .evm.
  ManifestHeader header = BundleLoading(old_key_);
  header.ima->certificates.push_back({KeyIdOf(k2), Der(k2.cert.get())});
  header.keys->initramfs[0].ima_cert_sha256 = Sha(Der(k2.cert.get()));
  // No file can verify under two keys with one keyid, so init stays
  // unsigned (one finding everywhere); the test looks at usr/bin/app.
  std::vector<Entry> image = {SignedFile("sbin/init", nullptr, 0755, 0)};
  std::vector<uint8_t> digest;
  Entry file = ShaFile("usr/bin/app", k2, old_key_, HashAlgo::kSha512, &digest);
  auto [before, after] = DecideStreamed(header, device_, image, file, digest);
  EXPECT_TRUE(before.files.size() == 1 && before.files[0].path == "sbin/init")
      << before.Summary();
  device_.in_place = false;
  EXPECT_EQ(
      DecideStreamed(header, device_, image, file, digest).second.files.size(),
      1u);  // sbin/init only: A/B boots K2 first
  device_.in_place = true;
  auto [in_place_before, in_place] =
      DecideStreamed(header, device_, image, file, digest);
  const TrustFinding* app = FindingFor(in_place, "usr/bin/app");
  ASSERT_NE(app, nullptr) << in_place.Summary();
  EXPECT_THAT(app->reason, HasSubstr("replaced in place before reboot"));
  EXPECT_THAT(app->reason, HasSubstr("running .ima"));
}

// ima_appraise.c xattr_verify: a digest passes IMA_DIGSIG_REQUIRED when
// EVM returned INTEGRITY_PASS_IMMUTABLE (a verified portable signature).
TEST_F(TrustDecisionTest, DigestWithPortableEvmSignaturePassesImasig) {
  device_.policy =
      ImaPolicy::Parse("appraise fowner=0 appraise_type=imasig\n", "p").value();
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  Entry libc = SignedFile("usr/lib/x86_64-linux-gnu/libc.so.6", nullptr);
  image[1] = DigestFile("usr/bin/ls", new_key_,
                        Sha256DigestXattr(SignedFile("usr/bin/ls", nullptr)));
  image[2] = DigestFile(libc.path, new_key_, Sha256DigestXattr(libc));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();

  // The portable signature must verify under the post-update .evm ring.
  image[2] = DigestFile(libc.path, old_key_, Sha256DigestXattr(libc));
  verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_TRUE(verdict.files[0].critical);
  EXPECT_EQ(verdict.files[0].cause, "invalid-fail-immutable");
}

TEST_F(TrustDecisionTest, DigestUnderImasigNeedsContentAndPortableEvm) {
  device_.policy =
      ImaPolicy::Parse("appraise fowner=0 appraise_type=imasig\n", "p").value();
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  Entry other = SignedFile("usr/bin/other", nullptr);
  image[1] = DigestFile("usr/bin/ls", new_key_, Sha256DigestXattr(other));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].cause, "invalid-hash");

  // An EVM signature that is not portable (type 0x03) leaves the kernel at
  // INTEGRITY_PASS at best: the digest does not satisfy imasig.
  Entry ls = SignedFile("usr/bin/ls", nullptr);
  image[1] = DigestFile("usr/bin/ls", new_key_, Sha256DigestXattr(ls));
  SetXattr(image[1], kEvmXattr,
           EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha256,
                             KeyIdOf(new_key_), Sign(new_key_, ls.sha256)));
  verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].cause, "IMA-signature-required");
}

// ima_get_hash_algo takes a 0x01 value whose bytes 16..19 are zero for
// MD5: the kernel compares the content's MD5 and fails with invalid-hash.
TEST_F(TrustDecisionTest, LegacySha1DigestEndingInZerosIsInvalidHash) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  std::vector<uint8_t> sha1(20, 0x5a);
  image[1] = DigestFile("usr/bin/ls", new_key_,
                        EncodeImaDigest(HashAlgo::kSha1, sha1));
  EXPECT_TRUE(Decide(BundleLoading(new_key_), image).accepted());
  std::fill(sha1.begin() + 16, sha1.end(), 0);
  image[1] = DigestFile("usr/bin/ls", new_key_,
                        EncodeImaDigest(HashAlgo::kSha1, sha1));
  TrustVerdict verdict = Decide(BundleLoading(new_key_), image);
  ASSERT_EQ(verdict.files.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.files[0].path, "usr/bin/ls");
  EXPECT_EQ(verdict.files[0].cause, "invalid-hash");
  EXPECT_THAT(verdict.files[0].reason, HasSubstr("MD5"));
}

// The device's policy is loaded by whichever kernel boots after the update:
// a 6.12 policy using MMAP_CHECK_REQPROT, which 6.1's table lacks, makes a
// shipped 6.1 kernel refuse the whole policy and keep its boot policy.
TEST_F(TrustDecisionTest, PolicyTheShippedKernelRefusesIsAProblem) {
  const std::string text =
      "appraise func=MMAP_CHECK_REQPROT appraise_type=imasig\n"
      "appraise fowner=0\n";
  device_.kernel_version = KernelVersion{6, 12};
  device_.policy_context.grammar.version = device_.kernel_version;
  device_.policy =
      ImaPolicy::Parse(text, "ima.policy", device_.policy_context).value();
  device_.policy_text = text;
  device_.policy_where = "ima.policy";
  ManifestHeader header = BundleLoading(new_key_);
  EXPECT_TRUE(Decide(header, Image(&new_key_, &new_key_)).accepted());

  header.keys->kernel_cas.push_back(Der(ca_.cert.get()));
  header.keys->kernels.push_back({"boot/vmlinuz-6.12", 6, 12});
  EXPECT_TRUE(Decide(header, Image(&new_key_, &new_key_)).accepted());
  header.keys->kernels.push_back({"boot/vmlinuz-6.1", 6, 1});
  TrustVerdict verdict = Decide(header, Image(&new_key_, &new_key_));
  EXPECT_FALSE(verdict.accepted());
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_THAT(verdict.keyring_problems[0], HasSubstr("the Linux 6.1 kernel"));
  EXPECT_THAT(verdict.keyring_problems[0], HasSubstr("ima.policy:1"));

  // The installed kernel recorded as 6.1 (no kernel shipped): the same.
  device_.kernel_version = KernelVersion{6, 1};
  verdict = Decide(BundleLoading(new_key_), Image(&new_key_, &new_key_));
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_THAT(verdict.keyring_problems[0], HasSubstr("the Linux 6.1 kernel"));
}

// Without an initramfs the kernel loads etc/keys/x509_{ima,evm}.der from
// the image's root (init/main.c: integrity_load_keys after
// prepare_namespace): they must be certificates of the predicted rings.
TEST_F(TrustDecisionTest, RootfsKeyFilesMustBeThePredictedCertificates) {
  auto key_file = [&](const std::string& path, const TestIdentity& cert) {
    Entry entry = SignedFile(path, nullptr, 0644);
    entry.sha256 = Sha(Der(cert.cert.get()));
    SetXattr(
        entry, kImaXattr,
        EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha256,
                          KeyIdOf(old_key_), Sign(old_key_, entry.sha256)));
    std::vector<uint8_t> evm =
        EvmPortableDigest(entry, KernelProfile{}, HashAlgo::kSha256).value();
    SetXattr(entry, kEvmXattr,
             EncodeSignatureV2(XattrType::kEvmPortableDigsig, HashAlgo::kSha256,
                               KeyIdOf(old_key_), Sign(old_key_, evm)));
    return entry;
  };
  Entry link;
  link.type = EntryType::kSymlink;
  link.path = "etc/keys/x509_ima.der";
  link.link_target = "x509_evm.der";
  const ManifestHeader no_initramfs;
  std::vector<Entry> image = Image(&old_key_, &old_key_);
  image.push_back(key_file("etc/keys/x509_evm.der", old_key_));
  image.push_back(link);
  TrustVerdict verdict = Decide(no_initramfs, image);
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();

  image[image.size() - 2] = key_file("etc/keys/x509_evm.der", new_key_);
  verdict = Decide(no_initramfs, image);
  ASSERT_EQ(verdict.keyring_problems.size(), 2u) << verdict.Summary();
  EXPECT_EQ(verdict.keyring_problems[0].rfind(
                "the image's /etc/keys/x509_ima.der (sha256 " +
                    HexEncode(Sha(Der(new_key_.cert.get()))) +
                    ") is not the certificate the device will load into .ima",
                0),
            0u)
      << verdict.keyring_problems[0];
  EXPECT_THAT(verdict.keyring_problems[1], HasSubstr("/etc/keys/x509_evm.der"));
  // A declared initramfs is what loads the keys: the root's files are
  // not read.
  EXPECT_TRUE(Decide(BundleLoading(old_key_), image).accepted());

  // A link that leads nowhere: no certificate at all.
  image.pop_back();
  image.pop_back();
  link.link_target = "missing.der";
  image.push_back(link);
  verdict = Decide(no_initramfs, image);
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_THAT(verdict.keyring_problems[0],
              HasSubstr("leads to no regular file"));
}

// A device that boots no initramfs (device.conf `initramfs = none`): the
// keyrings after reboot are exactly the certificates of the image's
// /etc/keys (init/main.c: integrity_load_keys() after prepare_namespace()).
class NoInitramfsTest : public TrustDecisionTest {
 protected:
  void SetUp() override {
    TrustDecisionTest::SetUp();
    device_.boots_without_initramfs = true;
  }

  // The regular file `path` holding `cert`'s DER, signed by `signer`.
  static Entry KeyFile(const std::string& path, const TestIdentity& cert,
                       const TestIdentity& signer) {
    Entry entry = SignedFile(path, nullptr, 0644);
    entry.sha256 = Sha(Der(cert.cert.get()));
    SetXattr(entry, kImaXattr,
             EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha256,
                               KeyIdOf(signer), Sign(signer, entry.sha256)));
    std::vector<uint8_t> evm =
        EvmPortableDigest(entry, KernelProfile{}, HashAlgo::kSha256).value();
    SetXattr(entry, kEvmXattr,
             EncodeSignatureV2(XattrType::kEvmPortableDigsig, HashAlgo::kSha256,
                               KeyIdOf(signer), Sign(signer, evm)));
    return entry;
  }

  static Entry Link(const std::string& path, const std::string& target,
                    EntryType type = EntryType::kSymlink) {
    Entry entry;
    entry.type = type;
    entry.path = path;
    entry.link_target = target;
    return entry;
  }

  // A bundle signed by `key`, which it declares, and no initramfs.
  static ManifestHeader SignedBy(const TestIdentity& key) {
    ManifestHeader header;
    header.ima.emplace();
    header.ima->certificates.push_back({KeyIdOf(key), Der(key.cert.get())});
    return header;
  }

  // The image signed by `key` with both /etc/keys files holding `cert`.
  static std::vector<Entry> ImageWithKeys(const TestIdentity& key,
                                          const TestIdentity& cert) {
    std::vector<Entry> image = Image(&key, &key);
    image.push_back(KeyFile("etc/keys/x509_evm.der", cert, key));
    image.push_back(KeyFile("etc/keys/x509_ima.der", cert, key));
    return image;
  }

  TrustVerdict DecideFromRootfs(const ManifestHeader& header,
                                const std::vector<Entry>& entries) {
    std::vector<const X509*> loaded;
    for (const auto* certs : {&device_.ima_certs, &device_.evm_certs}) {
      for (const Ptr<X509>& cert : *certs) {
        loaded.push_back(cert.get());
      }
    }
    RootfsKeysFinder finder(header, loaded);
    for (const Entry& e : entries) {
      finder.Add(e);
    }
    const RootfsKeys keys = finder.Finish();
    auto decider = TrustDecider::Create(header, device_, &keys);
    EXPECT_TRUE(decider.has_value());
    for (const Entry& e : entries) {
      (*decider)->Consider(e);
    }
    return (*decider)->Finish();
  }
};

TEST_F(NoInitramfsTest, RotationDoneRightIsAccepted) {
  TrustVerdict verdict =
      DecideFromRootfs(SignedBy(new_key_), ImageWithKeys(new_key_, new_key_));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  EXPECT_EQ(verdict.evm_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  EXPECT_EQ(verdict.ima_cert_ders,
            std::vector<std::string>{Der(new_key_.cert.get())});
  // The same image judged as today (initramfs outside the image): the
  // running key stays, and the root's files are not it.
  device_.boots_without_initramfs = false;
  EXPECT_FALSE(
      Decide(SignedBy(new_key_), ImageWithKeys(new_key_, new_key_)).accepted());
}

// The kernel loads the file the image holds, not the one loaded now: an
// image keeping the old certificate at /etc/keys while its files moved to
// the new key names those files.
TEST_F(NoInitramfsTest, OldCertificateLeftInEtcKeysNamesTheFiles) {
  TrustVerdict verdict =
      DecideFromRootfs(SignedBy(new_key_), ImageWithKeys(new_key_, old_key_));
  ASSERT_FALSE(verdict.accepted());
  EXPECT_TRUE(verdict.keyring_problems.empty()) << verdict.Summary();
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(old_key_)});
  ASSERT_FALSE(verdict.files.empty());
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("/sbin/init: security.ima signed by keyid " +
                        KeyIdHex(KeyIdOf(new_key_))));
}

TEST_F(NoInitramfsTest, ImageWithoutEtcKeysIsRefusedNamingTheFiles) {
  TrustVerdict verdict =
      DecideFromRootfs(SignedBy(old_key_), Image(&old_key_, &old_key_));
  ASSERT_EQ(verdict.keyring_problems.size(), 2u) << verdict.Summary();
  EXPECT_EQ(verdict.keyring_problems[0].rfind(
                "the image has no /etc/keys/x509_ima.der: this device boots "
                "without an initramfs, so its kernel would load no "
                "certificate into .ima after reboot",
                0),
            0u)
      << verdict.keyring_problems[0];
  EXPECT_EQ(verdict.keyring_problems[1].rfind(
                "the image has no /etc/keys/x509_evm.der: this device boots "
                "without an initramfs, so its kernel would load no "
                "certificate into .evm after reboot",
                0),
            0u)
      << verdict.keyring_problems[1];
  EXPECT_TRUE(verdict.ima_keyids.empty());
  EXPECT_EQ(verdict.files.size(), 4u);  // every signed file
}

// The two files load on their own: without x509_evm.der only .evm stays
// empty, and the EVM signatures are what fails.
TEST_F(NoInitramfsTest, MissingEvmFileEmptiesOnlyEvm) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(KeyFile("etc/keys/x509_ima.der", new_key_, new_key_));
  TrustVerdict verdict = DecideFromRootfs(SignedBy(new_key_), image);
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_THAT(verdict.keyring_problems[0],
              HasSubstr("the image has no /etc/keys/x509_evm.der"));
  EXPECT_THAT(verdict.keyring_problems[0], HasSubstr("invalid-fail-immutable"));
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  EXPECT_TRUE(verdict.evm_keyids.empty());
  ASSERT_FALSE(verdict.files.empty());
  EXPECT_EQ(verdict.files[0].cause, "invalid-fail-immutable");
}

TEST_F(NoInitramfsTest, CertificateFromACaTheKernelLacksIsRefused) {
  TestIdentity other_ca = MakeRootCa(dir_.path().string(), "other-ca");
  TestIdentity stranger = MakeIssued(dir_.path().string(), "s", other_ca);
  TrustVerdict verdict =
      DecideFromRootfs(SignedBy(stranger), ImageWithKeys(stranger, stranger));
  ASSERT_FALSE(verdict.accepted());
  EXPECT_THAT(verdict.Summary(), HasSubstr("would be refused by the kernel"));
  EXPECT_THAT(verdict.Summary(),
              HasSubstr("the certificate in the image's "
                        "/etc/keys/x509_ima.der would not load "
                        "into .ima after reboot"));
}

TEST_F(NoInitramfsTest, CertificateNeitherDeclaredNorLoadedIsRefused) {
  TrustVerdict verdict =
      DecideFromRootfs(SignedBy(old_key_), ImageWithKeys(old_key_, new_key_));
  ASSERT_EQ(verdict.keyring_problems.size(), 2u) << verdict.Summary();
  EXPECT_THAT(
      verdict.keyring_problems[0],
      HasSubstr("the image's /etc/keys/x509_ima.der holds none of the "
                "certificates the manifest declares or the device has loaded"));
}

// Followed as the kernel's filp_open() does, inside the image: a symlink
// with a relative target, one into a symlinked folder, a hardlink.
TEST_F(NoInitramfsTest, LinksAreFollowedInsideTheImage) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(
      Link("etc/keys/x509_evm.der", "../../usr/share/keys/evm.der"));
  image.push_back(
      Link("etc/keys/x509_ima.der", "opt/keys/ima.der", EntryType::kHardlink));
  image.push_back(Link("usr/share/keys", "../../opt/keys"));
  image.push_back(KeyFile("opt/keys/evm.der", new_key_, new_key_));
  image.push_back(KeyFile("opt/keys/ima.der", new_key_, new_key_));
  TrustVerdict verdict = DecideFromRootfs(SignedBy(new_key_), image);
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.evm_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  // The link's end holding another certificate is what counts.
  image.back() = KeyFile("opt/keys/ima.der", old_key_, new_key_);
  verdict = DecideFromRootfs(SignedBy(new_key_), image);
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(old_key_)});
  EXPECT_FALSE(verdict.accepted());
}

TEST_F(NoInitramfsTest, LinkThatLeadsNowhereLoadsNothing) {
  std::vector<Entry> image = Image(&new_key_, &new_key_);
  image.push_back(KeyFile("etc/keys/x509_ima.der", new_key_, new_key_));
  image.push_back(
      Link("etc/keys/x509_evm.der", "../../usr/share/keys/evm.der"));
  TrustVerdict verdict = DecideFromRootfs(SignedBy(new_key_), image);
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_EQ(verdict.keyring_problems[0].rfind(
                "the image's /etc/keys/x509_evm.der leads to no regular file "
                "(/usr/share is not in the image)",
                0),
            0u)
      << verdict.keyring_problems[0];
  // A folder in its place loads nothing either.
  image.back() = Link("etc/keys/x509_evm.der", "/usr");
  verdict = DecideFromRootfs(SignedBy(new_key_), image);
  ASSERT_EQ(verdict.keyring_problems.size(), 1u) << verdict.Summary();
  EXPECT_THAT(verdict.keyring_problems[0], HasSubstr("(a folder)"));
}

// Such a device never loads the bundle's initramfs: its keys do not count,
// and a note says so when they differ.
TEST_F(NoInitramfsTest, TheBundlesInitramfsDoesNotCount) {
  ManifestHeader header = BundleLoading(old_key_);
  header.ima->certificates.push_back(
      {KeyIdOf(new_key_), Der(new_key_.cert.get())});
  TrustVerdict verdict =
      DecideFromRootfs(header, ImageWithKeys(new_key_, new_key_));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_EQ(verdict.ima_keyids, std::vector<uint32_t>{KeyIdOf(new_key_)});
  ASSERT_EQ(verdict.notes.size(), 1u);
  EXPECT_EQ(verdict.notes[0].rfind("the bundle's initramfs "
                                   "/boot/initramfs.img holds other etc/keys "
                                   "certificates than the image's /etc/keys",
                                   0),
            0u)
      << verdict.notes[0];
  EXPECT_THAT(verdict.Summary(), HasSubstr("; note: the bundle's initramfs"));
  // The same certificates: nothing to say.
  verdict = DecideFromRootfs(BundleLoading(new_key_),
                             ImageWithKeys(new_key_, new_key_));
  EXPECT_TRUE(verdict.accepted()) << verdict.Summary();
  EXPECT_TRUE(verdict.notes.empty());
}

TEST_F(NoInitramfsTest, CreateWantsTheRootfsKeysExactlyForSuchADevice) {
  EXPECT_EQ(TrustDecider::Create(SignedBy(new_key_), device_).error().code,
            ErrorCode::kInternal);
  device_.boots_without_initramfs = false;
  const RootfsKeys keys;
  EXPECT_EQ(
      TrustDecider::Create(SignedBy(new_key_), device_, &keys).error().code,
      ErrorCode::kInternal);
}

// The verdict names the first ten files in full, then counts the rest.
TEST(TrustVerdictTest, SummaryListsTheFirstTenFilesThenCountsTheRest) {
  TrustVerdict verdict;
  for (int i = 0; i < 12; ++i) {
    verdict.files.push_back(TrustFinding{
        "f" + std::to_string(i), false, "unsigned", "", "EACCES", {}});
  }
  std::string expected =
      "12 appraised file(s) would not be trusted after the update";
  for (int i = 0; i < 10; ++i) {
    expected += "; /f" + std::to_string(i) + ": unsigned (EACCES)";
  }
  expected += "; and 2 more (see --json)";
  EXPECT_EQ(verdict.Summary(), expected);
}

}  // namespace
}  // namespace imab::verifier
