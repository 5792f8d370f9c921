// IMA/EVM signatures are judged under the key the device will hold, not
// by keyid alone (issue 12 item 5): bundles built by imab-build whose files
// are signed with SHA-384/SHA-512 by a key K2 whose certificate has the
// same keyid (the last 4 bytes of the subjectKeyIdentifier) as the
// device's K1. The bundle ships no initramfs, so after reboot .ima still
// holds K1: every signed file would fail appraisal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr const char* kSameSkid = "0102030405060708090a0b0c0d0e0f10a1b2c3d4";

class PostUpdateKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.Sub("");
    keys_ = std::make_unique<ReleaseKeys>(d);
    kernel_ca_ = MakeRootCa(d, "kernel-ca");
    CertOptions same;
    same.subject_key_id = kSameSkid;
    k1_ = MakeIssued(d, "k1", kernel_ca_, same);
    k2_ = MakeIssued(d, "k2", kernel_ca_, same);
    CertOptions evm_skid;
    evm_skid.subject_key_id = "ffeeddccbbaa99887766554433221100e0e1e2e3";
    evm_ = MakeIssued(d, "evm", kernel_ca_, evm_skid);
    evm2_ = MakeIssued(d, "evm2", kernel_ca_, evm_skid);
    device_ = dir_.Sub("device");
    // .ima holds K1, .evm holds E.
    CommandResult init = RunShell(
        ShellQuote(VerifyBin()) + " device init --root " + ShellQuote(device_) +
        " --compatible test-board --release-ca " +
        ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
        ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
        ShellQuote(k1_.cert_path) + " --evm-cert " +
        ShellQuote(evm_.cert_path));
    ASSERT_EQ(init.exit_code, 0) << init.err;
    rootfs_ = dir_.Sub("rootfs");
    for (const char* path : {"sbin/init", "usr/lib/x86_64-linux-gnu/libc.so.6",
                             "lib64/ld-linux-x86-64.so.2", "usr/bin/app"}) {
      PutFile(rootfs_, path, std::string("stand-in ") + path, fs::perms(0755));
    }
  }

  std::string Build(const std::string& name, const TestIdentity& ima,
                    const TestIdentity& evm, const std::string& hash,
                    const std::string& extra = "") {
    std::string bundle = dir_.Sub(name + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, "1.0",
                 "--ima-key " + ShellQuote(ima.key_path) + " --ima-cert " +
                     ShellQuote(ima.cert_path) + " --evm-key " +
                     ShellQuote(evm.key_path) + " --evm-cert " +
                     ShellQuote(evm.cert_path) + " --hash " + hash + " " +
                     extra);
    return bundle;
  }

  // An initramfs in the image; the build puts the IMA certificate into
  // etc/keys/x509_ima.der and the EVM one into x509_evm.der.
  void AddInitramfs() {
    const std::string tree = dir_.Sub("initrd-tree");
    fs::create_directories(tree + "/etc/keys");
    WriteFile(tree + "/init", "#!/bin/sh\n");
    WriteFile(tree + "/etc/keys/x509_evm.der", "placeholder");
    WriteFile(tree + "/etc/keys/x509_ima.der", "placeholder");
    ASSERT_NO_FATAL_FAILURE(
        WriteGzipInitramfs(tree, rootfs_ + "/boot/initramfs.img"));
  }

  CommandResult Judge(const std::string& bundle,
                      const std::string& extra = "") {
    return RunVerifyOnDevice(bundle, device_, "--no-time-check " + extra);
  }

  CommandResult Install(const std::string& bundle) {
    return RunInstallOnDevice(bundle, device_, "--no-time-check");
  }

  std::string ActiveSlot() {
    std::error_code ec;
    fs::path target =
        fs::read_symlink(device_ + "/var/lib/imabundle/active", ec);
    return ec ? "" : target.string();
  }

  // Refused by verify --root and install, naming the files; nothing is
  // activated.
  void ExpectRefused(const std::string& bundle, const std::string& why) {
    CommandResult judged = Judge(bundle);
    EXPECT_NE(judged.exit_code, 0) << judged.out;
    EXPECT_THAT(judged.err, HasSubstr("/sbin/init"));
    EXPECT_THAT(judged.err, HasSubstr(why));
    const std::string active = ActiveSlot();
    CommandResult installed = Install(bundle);
    EXPECT_NE(installed.exit_code, 0) << installed.out;
    EXPECT_THAT(installed.err, HasSubstr(why));
    EXPECT_EQ(ActiveSlot(), active);  // nothing activated
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, k1_, k2_, evm_, evm2_;
  std::string device_, rootfs_;
};

TEST_F(PostUpdateKeyTest, SignedByTheDevicesKeyIsAccepted) {
  for (const char* hash : {"sha256", "sha384", "sha512"}) {
    std::string bundle = Build(std::string("good-") + hash, k1_, evm_, hash);
    CommandResult judged = Judge(bundle);
    EXPECT_EQ(judged.exit_code, 0) << hash << ": " << judged.err;
  }
  CommandResult installed = Install(dir_.Sub("good-sha512.imab"));
  EXPECT_EQ(installed.exit_code, 0) << installed.err;
}

TEST_F(PostUpdateKeyTest, Sha384ImaSignatureByAnotherKeyWithTheSameKeyid) {
  ExpectRefused(Build("k2-sha384", k2_, evm_, "sha384"),
                "does not verify over the content's sha384 digest");
}

TEST_F(PostUpdateKeyTest, Sha512ImaSignatureByAnotherKeyWithTheSameKeyid) {
  ExpectRefused(Build("k2-sha512", k2_, evm_, "sha512"),
                "does not verify over the content's sha512 digest");
}

TEST_F(PostUpdateKeyTest, Sha256ImaSignatureByAnotherKeyWithTheSameKeyid) {
  ExpectRefused(Build("k2-sha256", k2_, evm_, "sha256"),
                "security.ima signature by keyid");
}

// The EVM signature over the metadata, by E2 with E's keyid: refused for
// every hash (the verifier computes the EVM digest from the manifest).
TEST_F(PostUpdateKeyTest, EvmSignatureByAnotherKeyWithTheSameKeyid) {
  for (const char* hash : {"sha384", "sha512"}) {
    ExpectRefused(Build(std::string("e2-") + hash, k1_, evm2_, hash),
                  "security.evm signature by keyid");
  }
}

// The bundle's initramfs loads K2 after reboot, but an in-place update opens
// the new files under the running K1 first: same keyid, another key.
TEST_F(PostUpdateKeyTest, InPlaceSha384SignatureMustVerifyUnderTheRunningKey) {
  if (!HaveTool("cpio")) {
    GTEST_SKIP() << "cpio not installed";
  }
  AddInitramfs();
  std::string bundle = Build("k2-initramfs", k2_, evm_, "sha384",
                             "--kernel-ca " + ShellQuote(kernel_ca_.cert_path));
  CommandResult ab = Judge(bundle);
  EXPECT_EQ(ab.exit_code, 0) << ab.err;  // A/B: K2 is what verifies them
  CommandResult in_place = Judge(bundle, "--in-place");
  EXPECT_NE(in_place.exit_code, 0) << in_place.out;
  EXPECT_THAT(in_place.err, HasSubstr("replaced in place before reboot"));
  EXPECT_THAT(in_place.err, HasSubstr("running .ima key"));
}

}  // namespace
}  // namespace imab::testing
