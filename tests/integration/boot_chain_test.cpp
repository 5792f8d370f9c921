// Issue 12, items 1 and 4, end to end: the boot chain a bundle claims is
// the one the device will boot. Real bundles built by imab-build, judged by
// `imab-verify verify --root DEVICE`; synthetic kernels (fake_kernel.h)
// carry their built-in CAs as a real kernel does.
//  1. The bundle's kernel CAs and kernel profile count only when the image
//     ships every kernel a bootloader could start and each carries the CAs.
//  4. Every initramfs a bootloader could load is declared and checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "tests/integration/boot_chain_fixture.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

// --- Item 1: kernel CA claimed, not shipped ------------------------------

// The issue's example: --kernel-ca OTHER, a certificate from OTHER in the
// initramfs, no kernel in the image. The device keeps booting its kernel,
// which refuses that certificate.
TEST_F(BootChainTest, KernelCaClaimedWithoutKernelIsRefused) {
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_THAT(build.err, HasSubstr("ships no kernel carrying the --kernel-ca"));
  CommandResult judged = Judge("b.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err, HasSubstr("would be refused by the kernel"));
}

// A kernel is shipped, but it carries the device's CA, not OTHER.
TEST_F(BootChainTest, KernelCaClaimedButShippedKernelLacksItIsRefused) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageZstd);
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  EXPECT_NE(build.exit_code, 0);
  EXPECT_THAT(build.err,
              HasSubstr("boot/vmlinuz-6.1.0: this kernel does not carry "
                        "--kernel-ca \""));
  EXPECT_FALSE(fs::exists(dir_.Sub("b.imab")));
  ExpectRefusedIfBuilt(build);
}

// Two kernels a bootloader could start; the fallback lacks OTHER.
TEST_F(BootChainTest, TwoKernelsOneLackingTheCaIsRefused) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {other_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-5.10.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageXz, "5.10.0");
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  EXPECT_NE(build.exit_code, 0);
  EXPECT_THAT(build.err,
              HasSubstr("boot/vmlinuz-5.10.0: this kernel does not carry"));
  ExpectRefusedIfBuilt(build);
}

// The verifier does not take the builder's word: a manifest claiming the
// kernel also carries OTHER, signed with the release key, is refused when
// the kernel's bytes do not hold it.
TEST_F(BootChainTest, ForgedKernelClaimIsRefusedByTheVerifier) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  CommandResult build =
      Build(new_, KernelCa(kernel_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  ASSERT_EQ(Judge("b.imab").exit_code, 0);
  Resign("b.imab", "forged.imab", [&](std::string& m) {
    Insert(m, "key-generation ", "kernel-ca " + DerHex(other_ca_) + "\n");
  });
  CommandResult judged = Judge("forged.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("kernel boot/vmlinuz-6.1.0: does not carry the "
                        "kernel CA \""));
}

// A kernel shipped without --kernel-ca: the device would boot it with CAs
// nobody declared (here only OTHER, which did not issue the signing key).
TEST_F(BootChainTest, KernelShippedWithoutKernelCaIsRefused) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {other_ca_.cert_path},
                  KernelWrap::kBzImageXz);
  CommandResult build = Build(new_, "--initramfs boot/initramfs.img");
  EXPECT_NE(build.exit_code, 0);
  EXPECT_THAT(build.err,
              HasSubstr("boot/vmlinuz-6.1.0: the image ships a kernel"));
  ExpectRefusedIfBuilt(build);
}

// The same, forged: a manifest from which the kernel's declaration (and
// the kernel CA) were removed.
TEST_F(BootChainTest, KernelWithoutDeclarationIsRefusedByTheVerifier) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  CommandResult build =
      Build(new_, KernelCa(kernel_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  Resign("b.imab", "forged.imab", [&](std::string& m) {
    Erase(m, "kernel-ca ");
    Erase(m, "kernel boot/vmlinuz-6.1.0 ");
  });
  CommandResult judged = Judge("forged.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("kernel boot/vmlinuz-6.1.0: a bootloader could "
                        "start it"));
}

// The declared version decides the kernel's keyring rules (digitalSignature
// from 6.6): a re-signed manifest lowering it is refused by the banner.
TEST_F(BootChainTest, ForgedKernelVersionIsRefusedByTheVerifier) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.6.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageXz, "6.6.0");
  CommandResult build =
      Build(new_, KernelCa(kernel_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  Resign("b.imab", "forged.imab", [&](std::string& m) {
    Erase(m, "kernel boot/vmlinuz-6.6.0 6.6");
    Insert(m, "kernel-ca ", "kernel boot/vmlinuz-6.6.0 6.1\n");
  });
  CommandResult judged = Judge("forged.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("kernel boot/vmlinuz-6.6.0: its \"Linux version\" "
                        "banner is not the declared 6.1"));
}

// A kernel link leading to a file the build cannot check as a kernel.
TEST_F(BootChainTest, KernelLinkToAnUncheckedFileIsRefused) {
  WriteFakeKernel(rootfs_ + "/opt/k/bz", {other_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  fs::create_symlink("opt/k/bz", rootfs_ + "/vmlinuz");
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  EXPECT_NE(build.exit_code, 0);
  EXPECT_THAT(build.err,
              HasSubstr("vmlinuz: a bootloader could start it, but it "
                        "leads to opt/k/bz"));
}

// Two kernels carry OTHER, but the manifest declares only one.
TEST_F(BootChainTest, UndeclaredKernelIsRefusedByTheVerifier) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {other_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-5.10.0", {other_ca_.cert_path},
                  KernelWrap::kBzImageGzip, "5.10.0");
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  ASSERT_EQ(Judge("b.imab").exit_code, 0);
  Resign("b.imab", "forged.imab",
         [&](std::string& m) { Erase(m, "kernel boot/vmlinuz-5.10.0 "); });
  CommandResult judged = Judge("forged.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("kernel boot/vmlinuz-5.10.0: a bootloader could "
                        "start it"));
}

// The issue's second example: --kernel-profile le32 for an le64 device
// without a kernel: judged with the device's le64, the EVM signatures
// made for le32 do not verify.
TEST_F(BootChainTest, KernelProfileOfABundleWithoutKernelIsNotUsed) {
  for (const char* profile : {"le32", "be64"}) {
    SCOPED_TRACE(profile);
    CommandResult build =
        Build(new_, KernelCa(kernel_ca_) + " --kernel-profile " + profile +
                        " --initramfs boot/initramfs.img");
    ASSERT_EQ(build.exit_code, 0) << build.err;
    CommandResult judged = Judge("b.imab");
    EXPECT_EQ(judged.exit_code, 1) << judged.err;
    EXPECT_THAT(judged.err, HasSubstr("security.evm signature by keyid"));
  }
}

// With the kernel shipped (carrying the CA), the bundle's profile counts.
TEST_F(BootChainTest, KernelProfileOfAShippedKernelIsUsed) {
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageGzip);
  CommandResult build =
      Build(new_, KernelCa(kernel_ca_) +
                      " --kernel-profile le32 --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  CommandResult judged = Judge("b.imab");
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
}

// A shipped kernel carrying OTHER, in every layout and compression.
class BootChainKernelWrapTest
    : public BootChainTest,
      public ::testing::WithParamInterface<KernelWrap> {};

TEST_P(BootChainKernelWrapTest, KernelCarryingTheCaIsAccepted) {
  const bool arm = GetParam() == KernelWrap::kArm64Image ||
                   GetParam() == KernelWrap::kArm64ImageGz;
  const std::string name = GetParam() == KernelWrap::kArm64Image ? "Image"
                           : arm                                 ? "Image.gz"
                                 : "vmlinuz-6.1.0";
  if (GetParam() == KernelWrap::kBzImageLz4 && !HaveTool("lz4")) {
    GTEST_SKIP() << "lz4 not installed";
  }
  WriteFakeKernel(rootfs_ + "/boot/" + name, {other_ca_.cert_path}, GetParam());
  // A top-level link to it, as Debian's linux-image packages make.
  fs::create_symlink("boot/" + name, rootfs_ + "/vmlinuz");
  CommandResult build = Build(
      under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  std::string manifest =
      RunShell("tar -xOf " + ShellQuote(dir_.Sub("b.imab")) + " manifest").out;
  EXPECT_THAT(manifest, HasSubstr("kernel boot/" + name + " 6.1\n"));
  EXPECT_THAT(build.out,
              HasSubstr("kernel boot/" + name + " (6.1): carries every"));
  CommandResult judged = Judge("b.imab");
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
}

INSTANTIATE_TEST_SUITE_P(
    Wraps, BootChainKernelWrapTest,
    ::testing::Values(KernelWrap::kBzImageGzip, KernelWrap::kBzImageXz,
                      KernelWrap::kBzImageZstd, KernelWrap::kBzImageLz4,
                      KernelWrap::kBzImageBzip2, KernelWrap::kArm64Image,
                      KernelWrap::kArm64ImageGz),
    [](const ::testing::TestParamInfo<KernelWrap>& wrap) {
      return KernelWrapName(wrap.param);
    });

// After installing an image whose kernel counted, the device judges the
// next update with that kernel's profile, not the factory one: a le32
// kernel installed, a later kernel-less bundle signed for le64 is refused
// and one signed for le32 accepted.
TEST_F(BootChainTest, InstalledKernelsProfileJudgesTheNextUpdate) {
  fs::create_directories(dir_.Sub("device-keys"));
  TestDevice device(dir_.Sub("ab-device"), *keys_, dir_.Sub("device-keys"));
  ASSERT_EQ(device.Init().exit_code, 0);
  fs::remove(rootfs_ + "/boot/initramfs.img");
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.6.0",
                  {device.kernel_ca().cert_path}, KernelWrap::kBzImageZstd,
                  "6.6.0");
  const std::string ca =
      " --kernel-ca " + ShellQuote(device.kernel_ca().cert_path);
  BuildVersion(rootfs_, dir_.Sub("v2.imab"), *keys_, "2.0",
               device.ImaBuildFlags() + ca + " --kernel-profile le32");
  CommandResult v2 = device.Install(dir_.Sub("v2.imab"));
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  fs::remove(rootfs_ + "/boot/vmlinuz-6.6.0");
  BuildVersion(rootfs_, dir_.Sub("v3-le64.imab"), *keys_, "3.0",
               device.ImaBuildFlags());
  CommandResult le64 = device.Install(dir_.Sub("v3-le64.imab"));
  EXPECT_EQ(le64.exit_code, 1) << le64.err;
  EXPECT_THAT(le64.err, HasSubstr("security.evm signature by keyid"));
  BuildVersion(rootfs_, dir_.Sub("v3-le32.imab"), *keys_, "3.0",
               device.ImaBuildFlags() + " --kernel-profile le32");
  CommandResult le32 = device.Install(dir_.Sub("v3-le32.imab"));
  EXPECT_EQ(le32.exit_code, 0) << le32.err;
}

// --- Item 4: an initramfs the manifest does not declare -----------------

// The issue's example and its variants: a fallback initramfs still holding
// the old certificate, which a bootloader could load instead.
TEST_F(BootChainTest, UndeclaredFallbackInitramfsIsRefused) {
  struct Case {
    std::string file;  // the fallback initramfs
    std::string link;  // a link to it, or ""
    std::string named;
  };
  const std::vector<Case> cases = {
      {"boot/initrd.img-5.10.0", "", "boot/initrd.img-5.10.0"},
      {"boot/initramfs-5.10.0.img", "", "boot/initramfs-5.10.0.img"},
      {"opt/fallback/rd.img", "initrd.img", "initrd.img"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.named);
    WriteInitramfs(rootfs_ + "/" + c.file, old_);
    if (!c.link.empty()) {
      fs::create_symlink(c.file, rootfs_ + "/" + c.link);
    }
    CommandResult build = Build(new_, "--initramfs boot/initramfs.img");
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(build.err, HasSubstr(c.named + ": a bootloader could load this "
                                               "initramfs"));
    ExpectRefusedIfBuilt(build);
    fs::remove(rootfs_ + "/" + c.file);
    if (!c.link.empty()) {
      fs::remove(rootfs_ + "/" + c.link);
    }
  }
}

// Without --initramfs every candidate is rewritten and declared: accepted.
TEST_F(BootChainTest, EveryInitramfsRewrittenByDefaultIsAccepted) {
  WriteInitramfs(rootfs_ + "/boot/initrd.img-5.10.0", old_);
  fs::create_symlink("boot/initrd.img-5.10.0", rootfs_ + "/initrd.img");
  WriteInitramfs(rootfs_ + "/boot/firmware/initramfs8", old_);  // a Pi's
  CommandResult build = Build(new_, "");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  std::string manifest =
      RunShell("tar -xOf " + ShellQuote(dir_.Sub("b.imab")) + " manifest").out;
  for (const char* path : {"boot/firmware/initramfs8", "boot/initramfs.img",
                           "boot/initrd.img-5.10.0"}) {
    EXPECT_THAT(manifest, HasSubstr(std::string("\ninitramfs ") + path + " "))
        << path;
  }
  CommandResult judged = Judge("b.imab");
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
}

// The verifier's own check: a re-signed manifest that drops the fallback's
// declaration is refused.
TEST_F(BootChainTest, UndeclaredInitramfsIsRefusedByTheVerifier) {
  WriteInitramfs(rootfs_ + "/boot/initrd.img-5.10.0", old_);
  CommandResult build = Build(new_, "");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  Resign("b.imab", "forged.imab", [&](std::string& m) {
    Erase(m, "initramfs boot/initrd.img-5.10.0 ");
  });
  CommandResult judged = Judge("forged.imab");
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err,
              HasSubstr("initramfs boot/initrd.img-5.10.0: a bootloader "
                        "could load it"));
}

// --- device init: the kernel CA must issue the loaded certificates --------

TEST_F(BootChainTest, DeviceInitRefusesCertificatesItsKernelCaDidNotIssue) {
  const std::string base =
      ShellQuote(VerifyBin()) + " device init --compatible test-board" +
      " --release-ca " + ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
      ShellQuote(kernel_ca_.cert_path);
  struct Case {
    std::string flags;
    std::string named;
  };
  const std::vector<Case> cases = {
      {"--ima-cert " + ShellQuote(DerCopy(under_other_)),
       "--ima-cert " + DerCopy(under_other_)},
      {"--ima-cert " + ShellQuote(DerCopy(old_)) + " --evm-cert " +
           ShellQuote(DerCopy(under_other_)),
       "--evm-cert " + DerCopy(under_other_)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.named);
    const std::string root = dir_.Sub("init-root");
    CommandResult init =
        RunShell(base + " --root " + ShellQuote(root) + " " + c.flags);
    EXPECT_EQ(init.exit_code, 2) << init.err;
    EXPECT_THAT(init.err, HasSubstr(c.named + ": the kernel (--kernel-ca"));
    EXPECT_FALSE(fs::exists(root + "/etc/imabundle"))
        << "something was written";
  }
  CommandResult good =
      RunShell(base + " --root " + ShellQuote(dir_.Sub("good-root")) +
               " --ima-cert " + ShellQuote(DerCopy(old_)));
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

}  // namespace
}  // namespace imab::testing
