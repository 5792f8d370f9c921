// The device's trust decision end to end: real bundles built by imab-build,
// judged by `imab-verify verify --root DEVICE` against a device folder whose
// kernel CA and loaded certificates are known (issue "On the device").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class DeviceTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("cpio")) {
      GTEST_SKIP() << "cpio not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    old_ = MakeIssued(dir_.Sub(""), "old", kernel_ca_);
    new_ = MakeIssued(dir_.Sub(""), "new", kernel_ca_);
    rootfs_ = dir_.Sub("rootfs");
    // The files every device needs to run anything, and a tool.
    MakeBootableSampleTree(rootfs_, {"bin/tool"});
    // The image's initramfs; the builder puts the signing certificate in.
    std::string initrd = dir_.Sub("initrd-tree");
    fs::create_directories(initrd + "/etc/keys");
    WriteFile(initrd + "/init", "#!/bin/sh\n");
    WriteFile(initrd + "/etc/keys/x509_evm.der", ReadFile(DerCopy(old_)));
    fs::create_symlink("x509_evm.der", initrd + "/etc/keys/x509_ima.der");
    ASSERT_NO_FATAL_FAILURE(
        WriteGzipInitramfs(initrd, rootfs_ + "/boot/initramfs.img"));
    device_ = dir_.Sub("device");
    WriteDevice("");
  }

  // The device runs a kernel with kernel_ca_ built in and old_ loaded.
  void WriteDevice(const std::string& extra) {
    WriteDeviceFolder(device_, kernel_ca_.cert_path, DerCopy(old_),
                      keys_->ca().cert_path, extra);
  }

  // Builds with `signer` as the IMA/EVM key, its certificate put into the
  // image's initramfs.
  std::string Build(const TestIdentity& signer, const std::string& extra = "",
                    const std::string& name = "b.imab") {
    std::string bundle = dir_.Sub(name);
    CommandResult build =
        RunBuild(rootfs_, bundle, *keys_,
                 "--ima-key " + ShellQuote(signer.key_path) + " --ima-cert " +
                     ShellQuote(DerCopy(signer)) +
                     " --initramfs boot/initramfs.img " + extra);
    EXPECT_EQ(build.exit_code, 0) << build.err;
    return bundle;
  }

  // The keyid the kernel uses for a certificate, as the verifier prints it.
  std::string KeyIdText(const TestIdentity& id) {
    CommandResult out = RunShell(
        "openssl x509 -in " + ShellQuote(id.cert_path) +
        " -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :\\n' | "
        "tr 'A-F' 'a-f' | tail -c 8");
    return out.out;
  }

  CommandResult Judge(const std::string& bundle,
                      const std::string& extra = "") {
    return RunVerifyOnDevice(bundle, device_, extra);
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, old_, new_;
  std::string rootfs_, device_;
};

TEST_F(DeviceTrustTest, RotatedAndFullyResignedIsAccepted) {
  std::string bundle =
      Build(new_, "--kernel-ca " + ShellQuote(kernel_ca_.cert_path));
  CommandResult judged = Judge(bundle, "--json");
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
  EXPECT_THAT(judged.out, HasSubstr("\"trust_decision\": {\"accepted\": true"));
}

TEST_F(DeviceTrustTest, LibcLeftUnsignedIsRejectedAndNamedFirst) {
  std::string bundle =
      Build(new_,
            "--ima-exclude 'usr/lib/**/libc.so.6' --ima-exclude "
            "bin/tool");
  CommandResult judged = Judge(bundle);
  EXPECT_EQ(judged.exit_code, 1);
  size_t libc =
      judged.err.find("/usr/lib/x86_64-linux-gnu/libc.so.6: no security.ima");
  // bin/tool comes first in the image, but libc is critical.
  size_t other = judged.err.find("/bin/tool: no security.ima");
  ASSERT_NE(libc, std::string::npos) << judged.err;
  EXPECT_LT(libc, other) << judged.err;
  EXPECT_THAT(judged.err, HasSubstr("ld.so exit 127"));
  // Nothing was judged from the payload: the refusal comes first.
  EXPECT_THAT(judged.err, HasSubstr("trust-decision"));
}

// The release engineer rotates the key but libc keeps the signature by the
// retired key: the image is assembled from two signed trees and built with
// --keep-signatures, as an image signed elsewhere would be.
TEST_F(DeviceTrustTest, RotationWithLibcStillUnderTheOldKeyIsRejected) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "extracting security.* xattrs needs root";
  }
  const std::string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  std::string under_old = dir_.Sub("under-old");
  std::string mixed = dir_.Sub("mixed");
  ASSERT_EQ(
      RunExtract(Build(old_, "", "old.imab"), keys_->ca().cert_path, under_old)
          .exit_code,
      0);
  ASSERT_EQ(
      RunExtract(Build(new_, "", "new.imab"), keys_->ca().cert_path, mixed)
          .exit_code,
      0);
  // cp skips security.evm (libattr's xattr.conf), so copy both by hand.
  for (const char* name : {"security.ima", "security.evm"}) {
    ASSERT_EQ(RunShell(std::string("v=$(getfattr --absolute-names -e hex -n ") +
                       name + " " + ShellQuote(under_old + libc) +
                       " | sed -n 's/^" + name + "=//p') && setfattr -n " +
                       name + " -v \"$v\" " + ShellQuote(mixed + libc))
                  .exit_code,
              0);
  }
  std::string bundle = dir_.Sub("mixed.imab");
  CommandResult build =
      RunBuild(mixed, bundle, *keys_,
               "--keep-signatures --ima-cert " + ShellQuote(DerCopy(new_)) +
                   " --ima-cert " + ShellQuote(DerCopy(old_)));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  // The device loads the old key today; the image's initramfs loads the new
  // one, so after reboot libc's old keyid is unknown.
  CommandResult judged = Judge(bundle);
  EXPECT_EQ(judged.exit_code, 1);
  std::string expected =
      libc + ": security.ima signed by keyid " + KeyIdText(old_) +
      ", not in the post-update .ima keyring {" + KeyIdText(new_) + "}";
  EXPECT_THAT(judged.err, HasSubstr(expected));
  // libc is the only file left behind, and it is named first.
  EXPECT_THAT(judged.err,
              HasSubstr("1 appraised file(s) would not be trusted"));
}

TEST_F(DeviceTrustTest, SigningCertificateFromAnotherCaTrustsNothing) {
  TestIdentity stranger_ca = MakeRootCa(dir_.Sub(""), "stranger-ca");
  TestIdentity stranger = MakeIssued(dir_.Sub(""), "stranger", stranger_ca);
  CommandResult judged = Judge(Build(stranger));
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err, HasSubstr("nothing would be trusted after reboot"));
  EXPECT_THAT(judged.err, HasSubstr("Problem loading X.509 certificate -126"));
}

// 6.12 refuses a signing certificate without digitalSignature, 6.1 loads
// it, and a kernel between them gets both rule sets.
TEST_F(DeviceTrustTest, DigitalSignatureIsRequiredFromKernel612) {
  CertOptions no_ds;
  no_ds.key_usage = "critical,keyEncipherment";
  TestIdentity key = MakeIssued(dir_.Sub(""), "nods", kernel_ca_, no_ds);
  std::string bundle = Build(key);
  for (const char* strict_version : {"6.12", "6.6"}) {
    WriteDevice(std::string("kernel-version = ") + strict_version + "\n");
    CommandResult strict = Judge(bundle);
    EXPECT_EQ(strict.exit_code, 1) << strict_version;
    EXPECT_THAT(strict.err,
                HasSubstr("digitalSignature (rules of kernel 6.12"));
  }
  for (const char* lax_version : {"6.1", "5.15"}) {
    WriteDevice(std::string("kernel-version = ") + lax_version + "\n");
    CommandResult older = Judge(bundle);
    EXPECT_EQ(older.exit_code, 0) << lax_version << ": " << older.err;
  }
}

// The kernel finds a key by its 4-byte keyid; two certificates sharing one
// would make which key checks a file depend on load order.
TEST_F(DeviceTrustTest, TwoCertificatesWithOneKeyidAreRejected) {
  CertOptions a, b;
  a.subject_key_id = "0102030405060708090a0b0c0d0e0f1011121314";
  b.subject_key_id = "ffffffffffffffffffffffffffffffff11121314";
  TestIdentity ka = MakeIssued(dir_.Sub(""), "same-a", kernel_ca_, a);
  TestIdentity kb = MakeIssued(dir_.Sub(""), "same-b", kernel_ca_, b);
  // The builder refuses to sign with such a pair...
  CommandResult both = RunBuild(rootfs_, dir_.Sub("both.imab"), *keys_,
                                "--ima-key " + ShellQuote(ka.key_path) +
                                    " --ima-cert " + ShellQuote(DerCopy(ka)) +
                                    " --evm-key " + ShellQuote(kb.key_path) +
                                    " --evm-cert " + ShellQuote(DerCopy(kb)));
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err,
              HasSubstr("two signing certificates share keyid 11121314"));
  // ...and a device whose keyring would hold both refuses the update: the
  // image ships no initramfs, so the keys loaded now stay.
  fs::remove(rootfs_ + "/boot/initramfs.img");
  std::string bundle = dir_.Sub("same.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_,
                                 "--ima-key " + ShellQuote(ka.key_path) +
                                     " --ima-cert " + ShellQuote(DerCopy(ka)));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  fs::copy_file(DerCopy(ka), device_ + "/etc/imabundle/a.der");
  fs::copy_file(DerCopy(kb), device_ + "/etc/imabundle/b.der");
  std::string conf = ReadFile(device_ + "/etc/imabundle/device.conf");
  conf.replace(conf.find("ima-cert = /etc/imabundle/ima.der"), 33,
               "ima-cert = /etc/imabundle/a.der\nima-cert = "
               "/etc/imabundle/b.der");
  WriteFile(device_ + "/etc/imabundle/device.conf", conf);
  CommandResult judged = Judge(bundle);
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err,
              HasSubstr("two certificates in .ima share keyid 11121314"));
}

TEST_F(DeviceTrustTest, RotationInPlaceIsRejectedButAbIsAccepted) {
  std::string bundle = Build(new_);
  EXPECT_EQ(Judge(bundle).exit_code, 0);
  CommandResult in_place = Judge(bundle, "--in-place");
  EXPECT_EQ(in_place.exit_code, 1);
  EXPECT_THAT(in_place.err, HasSubstr("replaced in place before reboot"));
  WriteDevice("layout = in-place\n");
  EXPECT_EQ(Judge(bundle).exit_code, 1);
}

TEST_F(DeviceTrustTest, BundleShippingANewKernelCaIsAccepted) {
  TestIdentity new_ca = MakeRootCa(dir_.Sub(""), "new-kernel-ca");
  TestIdentity key = MakeIssued(dir_.Sub(""), "under-new", new_ca);
  EXPECT_EQ(Judge(Build(key, "", "plain.imab")).exit_code, 1);
  // The new CA counts only with the kernel that carries it
  // (boot_chain_test.cpp has the refusals).
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.6.0", {new_ca.cert_path},
                  KernelWrap::kBzImageZstd, "6.6.0");
  CommandResult judged = Judge(
      Build(key, "--kernel-ca " + ShellQuote(new_ca.cert_path), "k.imab"));
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
}

TEST_F(DeviceTrustTest, UnsignedAppraisedFileRejectedExemptedOneAccepted) {
  WriteFile(rootfs_ + "/etc/app.conf", "setting=1\n");
  ASSERT_EQ(chown((rootfs_ + "/etc/app.conf").c_str(), 1000, 1000), 0);
  std::string bundle = Build(new_, "--ima-exclude etc/app.conf");
  // The policy appraises every file: the unsigned one is refused...
  WriteFile(device_ + "/etc/imabundle/policy", "appraise\n");
  WriteDevice("ima-policy = /etc/imabundle/policy\n");
  CommandResult judged = Judge(bundle);
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err, HasSubstr("/etc/app.conf: no security.ima"));
  // ...unless the policy exempts its owner.
  WriteFile(device_ + "/etc/imabundle/policy",
            "dont_appraise fowner=1000\nappraise\n");
  CommandResult exempt = Judge(bundle);
  EXPECT_EQ(exempt.exit_code, 0) << exempt.err;
}

TEST_F(DeviceTrustTest, ExpiredManifestIsRejected) {
  std::string bundle = Build(new_, "--expires 1000000000");
  CommandResult judged = Judge(bundle);
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err,
              HasSubstr("manifest expired at 2001-09-09T01:46:40Z"));
  // Without a trusted clock the expiry cannot be judged.
  EXPECT_EQ(Judge(bundle, "--no-time-check").exit_code, 0);
}

TEST_F(DeviceTrustTest, BundleForAnotherDeviceIsRejected) {
  WriteDevice("");
  std::string conf = ReadFile(device_ + "/etc/imabundle/device.conf");
  conf.replace(conf.find("compatible = test-board"), 23, "compatible = other");
  WriteFile(device_ + "/etc/imabundle/device.conf", conf);
  CommandResult judged = Judge(Build(new_));
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err,
              HasSubstr("bundle is for 'test-board', this device is 'other'"));
}

TEST_F(DeviceTrustTest, RequiredAnchorFromTheDeviceConfiguration) {
  // The image's store holds two local CAs, one of them the update server's.
  CertOptions ten_years;
  ten_years.not_after_offset = 3650L * 24 * 3600;
  TestIdentity update_ca =
      MakeRootCa(dir_.Sub(""), "update-server-ca", ten_years);
  TestIdentity other_ca = MakeRootCa(dir_.Sub(""), "other-ca", ten_years);
  const std::string local = rootfs_ + "/usr/local/share/ca-certificates";
  fs::create_directories(local);
  fs::copy_file(update_ca.cert_path, local + "/update-ca.crt");
  fs::copy_file(other_ca.cert_path, local + "/other-ca.crt");
  WriteFile(rootfs_ + "/etc/ca-certificates.conf", "");
  std::string with = Build(new_, "", "with.imab");
  fs::remove(local + "/update-ca.crt");
  std::string dropped = Build(new_, "", "dropped.imab");

  WriteDevice("required-anchor = update-ca.pem\n");
  CommandResult kept = Judge(with);
  EXPECT_EQ(kept.exit_code, 0) << kept.err;
  // Without it the device could never update again.
  CommandResult judged = Judge(dropped);
  EXPECT_EQ(judged.exit_code, 1);
  EXPECT_THAT(judged.err, HasSubstr("update-ca.pem"));
  // An anchor expiring within the device's horizon counts as lost.
  WriteDevice(
      "required-anchor = update-ca.pem\nca-expiry-horizon-days = 4000\n");
  CommandResult expiring = Judge(with);
  EXPECT_EQ(expiring.exit_code, 1);
  EXPECT_THAT(expiring.err, HasSubstr("within the 4000-day horizon"));
}

TEST_F(DeviceTrustTest, MissingDeviceConfigIsAUsageError) {
  fs::remove(device_ + "/etc/imabundle/device.conf");
  CommandResult judged = Judge(Build(new_));
  EXPECT_EQ(judged.exit_code, 2);
  EXPECT_THAT(judged.err, HasSubstr("device not initialised"));
}

}  // namespace
}  // namespace imab::testing
