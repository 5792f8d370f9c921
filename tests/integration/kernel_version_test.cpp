// `imab-build --kernel-version`: the builder applies the keyring rules of
// the device's kernel (common/read/kernel_keyring_rules.h), the strictest ones
// when it is not named, and only warns about an expired IMA/EVM
// certificate, which no studied kernel refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class KernelVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    CertOptions ca;
    ca.common_name = "kernel CA";
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca", ca);
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 1000;
    MakeSampleTree(rootfs_, small);
  }

  TestIdentity Signer(const std::string& name, CertOptions o = {}) {
    o.common_name = "IMA signing " + name;
    o.key_type = KeyType::kRsa2048;
    return MakeIssued(dir_.Sub(""), name, kernel_ca_, o);
  }

  std::string SignWith(const TestIdentity& signer) {
    return "--ima-key " + ShellQuote(signer.key_path) + " --ima-cert " +
           ShellQuote(DerCopy(signer)) + " --kernel-ca " +
           ShellQuote(kernel_ca_.cert_path);
  }

  CommandResult Build(const std::string& flags) {
    fs::remove(dir_.Sub("b.imab"));
    return RunBuild(rootfs_, dir_.Sub("b.imab"), *keys_, flags);
  }

  // Built only for a 6.1 device: the default (every studied kernel's
  // rules) and 6.12 and 6.6 refuse it, naming the rule and the flag.
  void ExpectOnlyForSixOne(const TestIdentity& signer, const std::string& why) {
    CommandResult strict = Build(SignWith(signer));
    EXPECT_EQ(strict.exit_code, 2);
    EXPECT_THAT(strict.err,
                HasSubstr(DerCopy(signer) +
                          ": the device kernel would refuse it: " + why +
                          " (rules of kernel 6.12 and later; "
                          "--kernel-version 6.1 targets an older "
                          "kernel)\n"));
    EXPECT_EQ(Lines(strict.err), 1u) << strict.err;
    EXPECT_FALSE(fs::exists(dir_.Sub("b.imab")));

    CommandResult six_one = Build(SignWith(signer) + " --kernel-version 6.1");
    EXPECT_EQ(six_one.exit_code, 0) << six_one.err;

    CommandResult six_twelve =
        Build(SignWith(signer) + " --kernel-version 6.12");
    EXPECT_EQ(six_twelve.exit_code, 2);
    EXPECT_THAT(six_twelve.err,
                HasSubstr(why + " (rules of kernel 6.12 and later)\n"));
    CommandResult between = Build(SignWith(signer) + " --kernel-version 6.6");
    EXPECT_EQ(between.exit_code, 2);
    EXPECT_THAT(between.err, HasSubstr("applied to 6.6"));
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_;
  std::string rootfs_;
};

TEST_F(KernelVersionTest, ACertificateWithoutKeyUsageBuildsForSixOne) {
  CertOptions o;
  o.omit_key_usage = true;
  ExpectOnlyForSixOne(Signer("no-ku", o),
                      "no keyUsage extension (digitalSignature required)");
}

TEST_F(KernelVersionTest, ACaSigningCertificateBuildsForSixOne) {
  CertOptions o;
  o.is_ca = true;
  o.key_usage = "critical,digitalSignature";
  ExpectOnlyForSixOne(Signer("ca-true", o), "basicConstraints CA:TRUE");
}

TEST_F(KernelVersionTest, AProperCertificateBuildsForEveryKernel) {
  TestIdentity good = Signer("good");
  for (const std::string version : {"", "6.1", "6.6", "6.12", "5.10"}) {
    CommandResult r =
        Build(SignWith(good) +
              (version.empty() ? "" : " --kernel-version " + version));
    EXPECT_EQ(r.exit_code, 0) << version << ": " << r.err;
  }
}

TEST_F(KernelVersionTest, ABadVersionIsAOneLineError) {
  TestIdentity good = Signer("good");
  for (const std::string bad : {"6", "x.y"}) {
    const std::string want =
        "imab-build: error: --kernel-version: kernel "
        "version \"" +
        bad + "\": expected MAJOR.MINOR, e.g. 6.1\n";
    CommandResult build = Build(SignWith(good) + " --kernel-version " + bad);
    EXPECT_EQ(build.exit_code, 2);
    EXPECT_EQ(build.err, want);
    CommandResult create =
        RunShell(ShellQuote(BuildBin()) + " key create-signing --ca-key " +
                 ShellQuote(kernel_ca_.key_path) + " --ca-cert " +
                 ShellQuote(kernel_ca_.cert_path) + " --out-key " +
                 ShellQuote(dir_.Sub("n.key")) + " --out-cert " +
                 ShellQuote(dir_.Sub("n.pem")) +
                 " --subject /CN=n --kernel-version " + bad);
    EXPECT_EQ(create.exit_code, 2);
    EXPECT_EQ(create.err, want);
    EXPECT_FALSE(fs::exists(dir_.Sub("n.key")));
    CommandResult show =
        RunShell(ShellQuote(BuildBin()) + " key show " +
                 ShellQuote(good.cert_path) + " --kernel-version " + bad);
    EXPECT_EQ(show.exit_code, 2);
    EXPECT_EQ(show.err, want);
  }
}

// The image's own kernel boots after the update: its rules hold whatever
// --kernel-version says.
TEST_F(KernelVersionTest, AShippedKernelBringsItsOwnRules) {
  if (!HaveTool("gzip")) {
    GTEST_SKIP() << "gzip not installed";
  }
  CertOptions o;
  o.omit_key_usage = true;
  TestIdentity no_ku = Signer("no-ku", o);
  fs::create_directories(rootfs_ + "/boot");
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.12.8", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageGzip, "6.12.8");
  CommandResult r = Build(SignWith(no_ku) + " --kernel-version 6.1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("the image's kernel (boot/vmlinuz-6.12.8, 6.12) would "
                        "refuse it: no keyUsage extension"));
  fs::remove(rootfs_ + "/boot/vmlinuz-6.12.8");
  WriteFakeKernel(rootfs_ + "/boot/vmlinuz-6.1.0", {kernel_ca_.cert_path},
                  KernelWrap::kBzImageGzip, "6.1.0");
  r = Build(SignWith(no_ku) + " --kernel-version 6.1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(KernelVersionTest, AnExpiredImaCertificateIsAWarning) {
  CertOptions past;
  past.not_before_offset = -7200;
  past.not_after_offset = -3600;
  TestIdentity expired = Signer("expired", past);
  const std::string warning =
      "imab-build: warning: " + DerCopy(expired) + ": certificate expired ";
  CommandResult resigned = Build(SignWith(expired));
  ASSERT_EQ(resigned.exit_code, 0) << resigned.err;
  EXPECT_THAT(resigned.err, HasSubstr(warning));
  EXPECT_THAT(resigned.err,
              HasSubstr("Z (notAfter); kept: kernel unknown (rules of "
                        "every studied kernel: 6.1 and 6.12) ignores "
                        "the validity dates of .ima/.evm keys\n"));
  EXPECT_EQ(resigned.err.find(warning), resigned.err.rfind(warning));

  if (!HaveTool("evmctl")) {
    GTEST_SKIP() << "evmctl not installed";
  }
  ASSERT_EQ(RunShell("evmctl sign -r --imasig --portable --generation 0 "
                     "--smack -a sha256 --key " +
                     ShellQuote(expired.key_path) + " " + ShellQuote(rootfs_))
                .exit_code,
            0);
  const std::string tarball = dir_.Sub("signed.tar");
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='*' --numeric-owner -C " +
                     ShellQuote(rootfs_) + " -cf " + ShellQuote(tarball) + " .")
                .exit_code,
            0);
  fs::remove(dir_.Sub("kept.imab"));
  CommandResult kept =
      RunBuild(tarball, dir_.Sub("kept.imab"), *keys_,
               "--keep-signatures --ima-cert " + ShellQuote(DerCopy(expired)) +
                   " --kernel-ca " + ShellQuote(kernel_ca_.cert_path) +
                   " --kernel-version 6.1");
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_THAT(kept.err, HasSubstr(warning));
  EXPECT_THAT(kept.err, HasSubstr("kept: kernel 6.1 ignores"));
  EXPECT_EQ(RunVerify(dir_.Sub("kept.imab"), keys_->ca().cert_path).exit_code,
            0);
}

// The release signer is ours to judge, not the kernel's: expired, refused.
TEST_F(KernelVersionTest, AnExpiredReleaseCertificateIsStillRefused) {
  CertOptions past;
  past.common_name = "expired release";
  past.extended_key_usage = "critical,codeSigning";
  past.not_before_offset = -7200;
  past.not_after_offset = -3600;
  TestIdentity release =
      MakeIssued(dir_.Sub(""), "old-release", keys_->ca(), past);
  CommandResult r =
      RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
               " build --rootfs " + ShellQuote(rootfs_) +
               " --version 1.2.3 --compatible test-board --signing-key " +
               ShellQuote(release.key_path) + " --signing-cert " +
               ShellQuote(release.cert_path) + " --output " +
               ShellQuote(dir_.Sub("r.imab")));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(release.cert_path + ": certificate expired "));
}

}  // namespace
}  // namespace imab::testing
