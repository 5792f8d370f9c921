// What the kernel that boots after the update loads, end to end (bundles
// built by imab-build, judged by `imab-verify verify --root`): the
// device's IMA policy under the grammar of a shipped kernel, and the
// /etc/keys certificates of an image that boots without an initramfs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/pki.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class PostUpdateBootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("cpio") || !HaveTool("openssl")) {
      GTEST_SKIP() << "cpio or openssl not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    device_key_ = MakeIssued(dir_.Sub(""), "device-key", kernel_ca_);
    foreign_ = MakeIssued(dir_.Sub(""), "foreign", kernel_ca_);
    rootfs_ = dir_.Sub("rootfs");
    for (const char* path :
         {"usr/lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2",
          "usr/lib/systemd/systemd", "usr/bin/tool"}) {
      fs::create_directories(fs::path(rootfs_ + "/" + path).parent_path());
      WriteFile(rootfs_ + "/" + path, std::string("ELF ") + path);
      fs::permissions(rootfs_ + "/" + path, fs::perms(0755));
    }
    fs::create_directories(rootfs_ + "/sbin");
    fs::create_symlink("../usr/lib/systemd/systemd", rootfs_ + "/sbin/init");
    device_ = dir_.Sub("device");
  }

  // A gzip newc initramfs at boot/initramfs.img loading device_key_.
  void WriteInitramfs() {
    const std::string tree = dir_.Sub("initrd-tree");
    fs::create_directories(tree + "/etc/keys");
    WriteFile(tree + "/init", "#!/bin/sh\n");
    WriteFile(tree + "/etc/keys/x509_evm.der", ReadFile(DerCopy(device_key_)));
    fs::create_directories(rootfs_ + "/boot");
    ASSERT_EQ(RunShell("cd " + ShellQuote(tree) +
                       " && find . | LC_ALL=C sort | cpio -o -H newc --quiet"
                       " | gzip -n > " +
                       ShellQuote(rootfs_ + "/boot/initramfs.img"))
                  .exit_code,
              0);
  }

  // The device runs a kernel with kernel_ca_ built in and device_key_
  // loaded; `extra` is appended to device.conf.
  void WriteDevice(const std::string& extra) {
    WriteDeviceFolder(device_, kernel_ca_.cert_path, DerCopy(device_key_),
                      keys_->ca().cert_path, extra);
  }

  CommandResult BuildAndJudge(const std::string& extra) {
    const std::string bundle = dir_.Sub("b.imab");
    fs::remove(bundle);
    CommandResult build = RunBuild(
        rootfs_, bundle, *keys_,
        "--ima-key " + ShellQuote(device_key_.key_path) + " --ima-cert " +
            ShellQuote(DerCopy(device_key_)) + " " + extra);
    EXPECT_EQ(build.exit_code, 0) << build.err;
    return RunVerifyOnDevice(bundle, device_);
  }

  // A 6.12 device whose policy uses MMAP_CHECK_REQPROT (not in 6.1's
  // table), updated by a bundle that ships the kernel `version`.
  CommandResult ShippingKernel(const std::string& version) {
    WriteInitramfs();
    WriteDevice(
        "kernel-version = 6.12\n"
        "ima-policy = /etc/imabundle/ima.policy\n");
    WriteFile(device_ + "/etc/imabundle/ima.policy",
              "appraise func=MMAP_CHECK_REQPROT appraise_type=imasig\n"
              "appraise fowner=0\n");
    WriteFakeKernel(rootfs_ + "/boot/vmlinuz-" + version,
                    {kernel_ca_.cert_path}, KernelWrap::kBzImageZstd, version);
    return BuildAndJudge("--kernel-ca " + ShellQuote(kernel_ca_.cert_path) +
                         " --initramfs boot/initramfs.img");
  }

  // An image without initramfs whose etc/keys/x509_evm.der is a copy of
  // `der_file` (and x509_ima.der a symlink to it, with `ima_as_symlink`).
  CommandResult RootfsKeys(const std::string& der_file,
                           bool ima_as_symlink = false) {
    WriteDevice("");
    fs::create_directories(rootfs_ + "/etc/keys");
    fs::copy_file(der_file, rootfs_ + "/etc/keys/x509_evm.der");
    if (ima_as_symlink) {
      fs::create_symlink("x509_evm.der", rootfs_ + "/etc/keys/x509_ima.der");
    }
    return BuildAndJudge("");
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, device_key_, foreign_;
  std::string rootfs_, device_;
};

// The example: 6.1 rejects the whole policy and keeps its boot
// policy.
TEST_F(PostUpdateBootTest, PolicyTheShippedKernelRefusesIsRefused) {
  CommandResult judged = ShippingKernel("6.1.0");
  EXPECT_EQ(judged.exit_code, 1) << judged.out << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("the Linux 6.1 kernel that may boot after the "
                        "update refuses the IMA policy"));
  EXPECT_THAT(judged.err, HasSubstr("ima.policy:1"));
}

TEST_F(PostUpdateBootTest, PolicyTheShippedKernelAcceptsIsAccepted) {
  CommandResult judged = ShippingKernel("6.12.0");
  EXPECT_EQ(judged.exit_code, 0) << judged.out << judged.err;
}

// The example: without an initramfs the kernel loads the image's
// /etc/keys/x509_evm.der, here a certificate the device does not hold.
TEST_F(PostUpdateBootTest, RootfsKeyFileOfAForeignCertificateIsRefused) {
  CommandResult judged = RootfsKeys(DerCopy(foreign_));
  EXPECT_EQ(judged.exit_code, 1) << judged.out << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("the image's /etc/keys/x509_evm.der (sha256 "));
  EXPECT_THAT(judged.err,
              HasSubstr("a device booting without an initramfs would "
                        "load it"));
}

// Variant: x509_ima.der a symlink to the foreign certificate as well.
TEST_F(PostUpdateBootTest, RootfsKeySymlinkToAForeignCertificateIsRefused) {
  CommandResult judged = RootfsKeys(DerCopy(foreign_), true);
  EXPECT_EQ(judged.exit_code, 1) << judged.out << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("the image's /etc/keys/x509_ima.der (sha256 "));
}

TEST_F(PostUpdateBootTest, RootfsKeyFileOfTheDevicesCertificateIsAccepted) {
  CommandResult judged = RootfsKeys(DerCopy(device_key_), true);
  EXPECT_EQ(judged.exit_code, 0) << judged.out << judged.err;
}

// Variant: the kernel an earlier update installed (recorded as 6.1 in the
// device state) boots after a bundle that ships none; the device.conf
// says 6.12 and its policy uses MMAP_CHECK_REQPROT.
TEST(PostUpdateBootInstalledTest, PolicyTheRecordedKernelRefusesIsRefused) {
  TempDir dir;
  ReleaseKeys keys(dir.Sub(""));
  TestDevice device(dir.Sub("device"), keys, dir.Sub(""));
  CommandResult init = device.Init("--kernel-version 6.12");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string rootfs = dir.Sub("rootfs");
  for (const char* path : {"usr/lib/x86_64-linux-gnu/libc.so.6",
                           "lib64/ld-linux-x86-64.so.2", "sbin/init"}) {
    fs::create_directories(fs::path(rootfs + "/" + path).parent_path());
    WriteFile(rootfs + "/" + path, std::string("stand-in ") + path);
    fs::permissions(rootfs + "/" + path, fs::perms(0755));
  }
  fs::create_directories(rootfs + "/boot");
  WriteFakeKernel(rootfs + "/boot/vmlinuz-6.1.0",
                  {device.kernel_ca().cert_path}, KernelWrap::kBzImageZstd,
                  "6.1.0");
  const std::string with_kernel = dir.Sub("with-kernel.imab");
  BuildVersion(rootfs, with_kernel, keys, "1.0",
               device.ImaBuildFlags() + " --kernel-ca " +
                   ShellQuote(device.kernel_ca().cert_path));
  CommandResult installed = device.Install(with_kernel);
  ASSERT_EQ(installed.exit_code, 0) << installed.err;

  // Now the device takes a policy 6.12 accepts, and an update without a
  // kernel comes: the recorded 6.1 kernel boots and refuses the policy.
  WriteFile(device.root() + "/etc/imabundle/ima.policy",
            "appraise func=MMAP_CHECK_REQPROT appraise_type=imasig\n"
            "appraise fowner=0\n");
  const std::string conf = device.root() + "/etc/imabundle/device.conf";
  WriteFile(conf, ReadFile(conf) + "ima-policy = /etc/imabundle/ima.policy\n");
  fs::remove(rootfs + "/boot/vmlinuz-6.1.0");
  const std::string without_kernel = dir.Sub("without-kernel.imab");
  BuildVersion(rootfs, without_kernel, keys, "2.0", device.ImaBuildFlags());
  CommandResult judged = RunShell(
      ShellQuote(VerifyBin()) + " verify " + ShellQuote(without_kernel) +
      " --root " + ShellQuote(device.root()) + " --no-time-check");
  EXPECT_EQ(judged.exit_code, 1) << judged.out << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("the Linux 6.1 kernel that may boot after the "
                        "update refuses the IMA policy"));
}

}  // namespace
}  // namespace imab::testing
