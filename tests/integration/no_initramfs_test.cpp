// A device that boots no initramfs at all (`device init --initramfs
// none`): its kernel loads .ima and .evm from the image's own
// /etc/keys/x509_ima.der and x509_evm.der (init/main.c:
// integrity_load_keys() after prepare_namespace()), so those files, not
// the certificates loaded now, are the keyrings after reboot. Real bundles
// built by imab-build, judged by `imab-verify verify --root` and installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/read/keyid.h"
#include "tests/integration/boot_chain_fixture.h"
#include "tests/testutil/device_fixture.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class NoInitramfsTest : public BootChainTest {
 protected:
  void SetUp() override {
    BootChainTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    fs::remove(rootfs_ + "/boot/initramfs.img");
    // The device runs a kernel with kernel_ca_ built in and old_ loaded.
    ASSERT_NO_FATAL_FAILURE(Init("--initramfs none"));
  }

  void Init(const std::string& extra) {
    fs::remove_all(device_);
    CommandResult init = RunShell(
        ShellQuote(VerifyBin()) + " device init --root " + ShellQuote(device_) +
        " --compatible test-board --release-ca " +
        ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
        ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
        ShellQuote(DerCopy(old_)) + " " + extra);
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  // The image's /etc/keys: both files hold `cert`'s DER.
  void PutKeys(const TestIdentity& cert) {
    fs::create_directories(rootfs_ + "/etc/keys");
    for (const char* name : {"x509_ima.der", "x509_evm.der"}) {
      fs::remove(rootfs_ + "/etc/keys/" + name);
      fs::copy_file(DerCopy(cert), rootfs_ + "/etc/keys/" + name);
    }
  }

  std::string Signed(const TestIdentity& signer, const std::string& version) {
    const std::string bundle = dir_.Sub("v" + version + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, version,
                 "--ima-key " + ShellQuote(signer.key_path) + " --ima-cert " +
                     ShellQuote(DerCopy(signer)));
    return bundle;
  }

  CommandResult Verify(const std::string& bundle,
                       const std::string& extra = "") {
    return RunVerifyOnDevice(bundle, device_, "--no-time-check " + extra);
  }

  CommandResult Install(const std::string& bundle) {
    return RunInstallOnDevice(bundle, device_, "--no-time-check");
  }

  static void ExpectSays(const CommandResult& result, const std::string& text) {
    EXPECT_THAT(result.err, HasSubstr(text));
  }
};

TEST_F(NoInitramfsTest, DeviceInitWritesTheKey) {
  const std::string conf = ReadFile(device_ + "/etc/imabundle/device.conf");
  EXPECT_THAT(conf, HasSubstr("\ninitramfs = none\n"));
  CommandResult bad = RunShell(
      ShellQuote(VerifyBin()) + " device init --root " +
      ShellQuote(dir_.Sub("other")) + " --compatible test-board --release-ca " +
      ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
      ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
      ShellQuote(DerCopy(old_)) + " --initramfs maybe");
  EXPECT_EQ(bad.exit_code, 2);
  ExpectSays(bad, "--initramfs 'maybe' is not image or none");
  EXPECT_FALSE(fs::exists(dir_.Sub("other") + "/etc/imabundle/device.conf"));
}

// Files re-signed by the new key, its certificate at /etc/keys: accepted,
// installed, and the next update is judged under the new key.
TEST_F(NoInitramfsTest, KeyRotationDoneRightIsAccepted) {
  PutKeys(new_);
  const std::string rotated = Signed(new_, "2.0");
  CommandResult judged = Verify(rotated);
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
  CommandResult installed = Install(rotated);
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  CommandResult status = RunShell(ShellQuote(VerifyBin()) + " status --root " +
                                  ShellQuote(device_));
  EXPECT_THAT(
      status.out,
      HasSubstr(KeyIdHex(KeyIdFromCertificate(new_.cert.get()).value())));
  // The device now holds the new key: an image signed by it, still
  // carrying it, is accepted; one that goes back to the old key is not.
  EXPECT_EQ(Verify(Signed(new_, "3.0")).exit_code, 0);
  PutKeys(old_);
  EXPECT_EQ(Verify(Signed(new_, "3.1")).exit_code, 1);

  // The same rotation on a device whose initramfs comes from outside the
  // image (the default): the loaded key stays, as before.
  ASSERT_NO_FATAL_FAILURE(Init(""));
  PutKeys(new_);
  CommandResult outside = Verify(rotated);
  EXPECT_EQ(outside.exit_code, 1) << outside.err;
  ExpectSays(outside, "is not the certificate the device will load");
}

// The old certificate left at /etc/keys while every file moved to the new
// key: the kernel would load the old one and refuse every file.
TEST_F(NoInitramfsTest, KeyRotationDoneWrongNamesTheFiles) {
  PutKeys(old_);
  CommandResult judged = Verify(Signed(new_, "2.0"));
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  ExpectSays(judged, "/usr/lib/systemd/systemd: security.ima signed by keyid");
  ExpectSays(judged, "not in the post-update .ima keyring");
}

// No /etc/keys at all: the kernel loads no key, and nothing it appraises
// would pass. Accepted on a device whose initramfs is not the image's.
TEST_F(NoInitramfsTest, ImageWithoutEtcKeysIsRefusedNamingIt) {
  const std::string bundle = Signed(old_, "2.0");
  CommandResult judged = Verify(bundle);
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  ExpectSays(judged,
             "the image has no /etc/keys/x509_ima.der: this device boots "
             "without an initramfs, so its kernel would load no certificate "
             "into .ima after reboot");
  ExpectSays(judged, "the image has no /etc/keys/x509_evm.der");
  ExpectSays(judged, "/usr/lib/systemd/systemd: security.ima signed by keyid");
  CommandResult installed = Install(bundle);
  EXPECT_EQ(installed.exit_code, 1) << installed.err;
  ExpectSays(installed, "the image has no /etc/keys/x509_ima.der");

  ASSERT_NO_FATAL_FAILURE(Init(""));
  CommandResult outside = Verify(bundle);
  EXPECT_EQ(outside.exit_code, 0) << outside.err;
}

TEST_F(NoInitramfsTest, CertificateFromACaNotInTheKernelIsRefused) {
  PutKeys(under_other_);
  CommandResult judged = Verify(Signed(under_other_, "2.0"));
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  ExpectSays(judged, "would be refused by the kernel when the .ima keys load");
  ExpectSays(judged,
             "the certificate in the image's /etc/keys/x509_ima.der would "
             "not load into .ima after reboot");
}

// Followed inside the image, as the kernel's filp_open() does once the
// image is its root.
TEST_F(NoInitramfsTest, SymlinkedEvmCertificateIsAccepted) {
  PutKeys(new_);
  fs::remove(rootfs_ + "/etc/keys/x509_evm.der");
  fs::create_directories(rootfs_ + "/usr/share/keys");
  fs::copy_file(DerCopy(new_), rootfs_ + "/usr/share/keys/evm.der");
  fs::create_symlink("../../usr/share/keys/evm.der",
                     rootfs_ + "/etc/keys/x509_evm.der");
  CommandResult judged = Verify(Signed(new_, "2.0"));
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
  // The same link leading nowhere loads nothing.
  fs::remove(rootfs_ + "/usr/share/keys/evm.der");
  judged = Verify(Signed(new_, "2.1"));
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  ExpectSays(judged,
             "the image's /etc/keys/x509_evm.der leads to no regular file "
             "(/usr/share/keys/evm.der is not in the image)");
}

// Such a device never loads the initramfs the bundle ships: the keys the
// build wrote into it do not stand in for a missing /etc/keys.
TEST_F(NoInitramfsTest, TheBundlesInitramfsDoesNotCount) {
  WriteInitramfs(rootfs_ + "/boot/initramfs.img", old_);
  const std::string bundle = Signed(new_, "2.0");
  CommandResult judged = Verify(bundle);
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  ExpectSays(judged, "the image has no /etc/keys/x509_ima.der");
  ExpectSays(judged,
             "note: the bundle's initramfs /boot/initramfs.img holds other "
             "etc/keys certificates than the image's /etc/keys");
  CommandResult json = Verify(bundle, "--json");
  EXPECT_THAT(json.out, HasSubstr("\"notes\": [\"the bundle's initramfs "
                                  "/boot/initramfs.img holds other"));
  // Where that initramfs is what boots, its keys are the new ones.
  ASSERT_NO_FATAL_FAILURE(Init(""));
  CommandResult with_initramfs = Verify(bundle);
  EXPECT_EQ(with_initramfs.exit_code, 0) << with_initramfs.err;
}

}  // namespace
}  // namespace imab::testing
