// An image signed the way `evmctl ima_hash` + `evmctl sign --portable`
// leaves it (security.ima a SHA-256 digest, security.evm a portable
// signature), built with --keep-signatures and judged by `imab-verify
// verify --root`. The kernel (ima_appraise.c xattr_verify) takes such a
// digest even under appraise_type=imasig, because EVM returned
// INTEGRITY_PASS_IMMUTABLE; so must the trust decision.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/pki.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class EvmctlHashFormTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "writing security.* xattrs needs root";
    }
    for (const char* tool : {"evmctl", "cpio", "openssl"}) {
      if (!HaveTool(tool)) {
        GTEST_SKIP() << tool << " not installed";
      }
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    device_key_ = MakeIssued(dir_.Sub(""), "device-key", kernel_ca_);
    stranger_ = MakeIssued(dir_.Sub(""), "stranger", kernel_ca_);
    rootfs_ = dir_.Sub("rootfs");
    for (const char* path :
         {"usr/lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2",
          "usr/lib/systemd/systemd", "usr/bin/tool", "etc/hostname"}) {
      fs::create_directories(fs::path(rootfs_ + "/" + path).parent_path());
      WriteFile(rootfs_ + "/" + path, std::string("content of ") + path);
      fs::permissions(rootfs_ + "/" + path, fs::perms(0755));
    }
    fs::create_directories(rootfs_ + "/sbin");
    fs::create_symlink("../usr/lib/systemd/systemd", rootfs_ + "/sbin/init");
    // The initramfs loads the device's own key into .ima and .evm.
    const std::string initrd = dir_.Sub("initrd-tree");
    fs::create_directories(initrd + "/etc/keys");
    WriteFile(initrd + "/init", "#!/bin/sh\n");
    WriteFile(initrd + "/etc/keys/x509_evm.der",
              ReadFile(DerCopy(device_key_)));
    fs::create_symlink("x509_evm.der", initrd + "/etc/keys/x509_ima.der");
    fs::create_directories(rootfs_ + "/boot");
    ASSERT_EQ(RunShell("cd " + ShellQuote(initrd) +
                       " && find . | LC_ALL=C sort | cpio -o -H newc --quiet"
                       " | gzip -n > " +
                       ShellQuote(rootfs_ + "/boot/initramfs.img"))
                  .exit_code,
              0);
    device_ = dir_.Sub("device");
  }

  // Every regular file: security.ima = SHA-256 digest (evmctl ima_hash),
  // security.evm = portable signature by `evm_key` (evmctl sign).
  void EvmctlSign(const TestIdentity& evm_key) {
    CommandResult r = RunShell(
        "find " + ShellQuote(rootfs_) +
        " -type f | while read -r f; do evmctl ima_hash -a sha256 \"$f\" "
        ">/dev/null && evmctl sign --portable --generation 0 -a sha256 "
        "--key " +
        ShellQuote(evm_key.key_path) + " \"$f\" >/dev/null || exit 1; done");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    CommandResult ima =
        RunShell("getfattr --absolute-names -e hex -n security.ima " +
                 ShellQuote(rootfs_ + "/usr/lib/x86_64-linux-gnu/libc.so.6"));
    ASSERT_THAT(ima.out, HasSubstr("security.ima=0x0404"))
        << "evmctl ima_hash did not write a SHA-256 digest: " << ima.out;
  }

  // `extra_cert` is declared too (the builder checks kept signatures).
  std::string Build(const TestIdentity* extra_cert = nullptr) {
    const std::string bundle = dir_.Sub("b.imab");
    std::string certs = "--ima-cert " + ShellQuote(DerCopy(device_key_));
    if (extra_cert != nullptr) {
      certs += " --ima-cert " + ShellQuote(DerCopy(*extra_cert));
    }
    CommandResult build = RunBuild(
        rootfs_, bundle, *keys_,
        "--keep-signatures " + certs + " --initramfs boot/initramfs.img");
    EXPECT_EQ(build.exit_code, 0) << build.err;
    return bundle;
  }

  // A device with kernel_ca_ built in, device_key_ loaded, `policy` as its
  // IMA policy ("" for the built-in appraise_tcb).
  CommandResult Judge(const std::string& bundle, const std::string& policy) {
    WriteDeviceFolder(
        device_, kernel_ca_.cert_path, DerCopy(device_key_),
        keys_->ca().cert_path,
        policy.empty() ? "" : "ima-policy = /etc/imabundle/ima.policy\n");
    if (!policy.empty()) {
      WriteFile(device_ + "/etc/imabundle/ima.policy", policy);
    }
    return RunVerifyOnDevice(bundle, device_);
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, device_key_, stranger_;
  std::string rootfs_, device_;
};

TEST_F(EvmctlHashFormTest, DigestWithPortableEvmPassesAnImasigPolicy) {
  ASSERT_NO_FATAL_FAILURE(EvmctlSign(device_key_));
  CommandResult judged =
      Judge(Build(), "appraise fowner=0 appraise_type=imasig\n");
  EXPECT_EQ(judged.exit_code, 0) << judged.out << judged.err;
}

// Variant: the built-in appraise_tcb policy asks no signature; the digest
// with its portable EVM signature passes at every hook, libc's included.
TEST_F(EvmctlHashFormTest, DigestWithPortableEvmPassesForCriticalLibc) {
  ASSERT_NO_FATAL_FAILURE(EvmctlSign(device_key_));
  CommandResult judged = Judge(Build(), "");
  EXPECT_EQ(judged.exit_code, 0) << judged.out << judged.err;
}

// The portable signature must verify under the post-update .evm keyring.
TEST_F(EvmctlHashFormTest, DigestWithAForeignEvmSignatureIsRefused) {
  ASSERT_NO_FATAL_FAILURE(EvmctlSign(stranger_));
  CommandResult judged =
      Judge(Build(&stranger_), "appraise fowner=0 appraise_type=imasig\n");
  EXPECT_EQ(judged.exit_code, 1) << judged.out << judged.err;
  EXPECT_THAT(judged.err, HasSubstr("/usr/lib/x86_64-linux-gnu/libc.so.6: "));
}

}  // namespace
}  // namespace imab::testing
