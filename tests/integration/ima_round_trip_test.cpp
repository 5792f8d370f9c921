// IMA/EVM end to end through the executables: re-sign a rootfs, extract it
// as root, and let evmctl (the reference implementation) check every file;
// and the reverse, keeping signatures evmctl made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class ImaRoundTripTest : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    if (!HaveTool("evmctl") || !HaveTool("getfattr")) {
      GTEST_SKIP() << "evmctl or getfattr not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    ima_ca_ = MakeRootCa(dir_.Sub(""), "ima-ca");
    CertOptions options;
    options.key_type = GetParam();
    ima_ = MakeIssued(dir_.Sub(""), "ima", ima_ca_, options);
    ima_der_ = dir_.Sub("ima.der");
    ASSERT_EQ(RunShell("openssl x509 -in " + ShellQuote(ima_.cert_path) +
                       " -outform DER -out " + ShellQuote(ima_der_))
                  .exit_code,
              0);
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 3u << 20;
    MakeSampleTree(rootfs_, small);
  }

  std::string ImaFlags() const {
    return "--ima-key " + ShellQuote(ima_.key_path) + " --ima-cert " +
           ShellQuote(ima_der_);
  }

  // Every regular file below `root`, as paths.
  std::vector<std::string> RegularFiles(const std::string& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file() && !e.is_symlink()) {
        out.push_back(e.path().string());
      }
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity ima_ca_;
  TestIdentity ima_;
  std::string ima_der_;
  std::string rootfs_;
};

TEST_P(ImaRoundTripTest, EvmctlVerifiesEveryExtractedFile) {
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_, ImaFlags());
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_THAT(build.out, HasSubstr("signed "));
  CommandResult verify = RunVerify(bundle, keys_->ca().cert_path);
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  std::string out = dir_.Sub("extracted");
  CommandResult extract = RunExtract(bundle, keys_->ca().cert_path, out);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  std::vector<std::string> files = RegularFiles(out);
  ASSERT_GT(files.size(), 5u);
  for (const std::string& f : files) {
    CommandResult ima = RunShell("evmctl ima_verify --key " +
                                 ShellQuote(ima_der_) + " " + ShellQuote(f));
    EXPECT_EQ(ima.exit_code, 0) << f << ": " << ima.out << ima.err;
    CommandResult evm = RunShell("evmctl verify --smack --key " +
                                 ShellQuote(ima_der_) + " " + ShellQuote(f));
    EXPECT_EQ(evm.exit_code, 0) << f << ": " << evm.out << evm.err;
  }
}

TEST_P(ImaRoundTripTest, KeptEvmctlSignaturesVerifyAndTamperingIsNamed) {
  // Sign the input with evmctl, pack it with its xattrs.
  CommandResult sign = RunShell(
      "evmctl sign -r --imasig --portable --generation 0 --smack -a sha256 "
      "--key " +
      ShellQuote(ima_.key_path) + " " + ShellQuote(rootfs_));
  ASSERT_EQ(sign.exit_code, 0) << sign.out << sign.err;
  std::string tarball = dir_.Sub("signed.tar");
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='*' --numeric-owner -C " +
                     ShellQuote(rootfs_) + " -cf " + ShellQuote(tarball) + " .")
                .exit_code,
            0);
  std::string keep = "--keep-signatures --ima-cert " + ShellQuote(ima_der_);
  std::string bundle = dir_.Sub("kept.imab");
  CommandResult build = RunBuild(tarball, bundle, *keys_, keep);
  ASSERT_EQ(build.exit_code, 0) << build.err;
  CommandResult verify = RunVerify(bundle, keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 0) << verify.err;

  // Change one file's content after signing: the builder refuses...
  WriteFile(rootfs_ + "/etc/hostname", "tampered\n");
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='*' --numeric-owner -C " +
                     ShellQuote(rootfs_) + " -cf " + ShellQuote(tarball) + " .")
                .exit_code,
            0);
  CommandResult refused = RunBuild(tarball, bundle, *keys_, keep);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("etc/hostname"));
  // ...unless told to build anyway; then only the verifier's IMA check can
  // catch it, since the release signature over the manifest is valid.
  CommandResult forced =
      RunBuild(tarball, bundle, *keys_, keep + " --allow-unverified");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  CommandResult rejected = RunVerify(bundle, keys_->ca().cert_path);
  EXPECT_EQ(rejected.exit_code, 1);
  EXPECT_THAT(rejected.err, HasSubstr("etc/hostname"));
  EXPECT_THAT(rejected.err, HasSubstr("security.ima"));

  // A changed mode breaks only the EVM signature.
  ASSERT_EQ(RunShell("evmctl sign --imasig --portable --generation 0 --smack "
                     "-a sha256 --key " +
                     ShellQuote(ima_.key_path) + " " +
                     ShellQuote(rootfs_ + "/etc/hostname"))
                .exit_code,
            0);
  ASSERT_EQ(
      RunShell("chmod 0600 " + ShellQuote(rootfs_ + "/etc/hostname")).exit_code,
      0);
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='*' --numeric-owner -C " +
                     ShellQuote(rootfs_) + " -cf " + ShellQuote(tarball) + " .")
                .exit_code,
            0);
  forced = RunBuild(tarball, bundle, *keys_, keep + " --allow-unverified");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  rejected = RunVerify(bundle, keys_->ca().cert_path);
  EXPECT_EQ(rejected.exit_code, 1);
  EXPECT_THAT(rejected.err, HasSubstr("etc/hostname"));
  EXPECT_THAT(rejected.err, HasSubstr("security.evm"));
}

TEST_P(ImaRoundTripTest, UnsignedInputSignaturesAreRefusedWithoutImaOptions) {
  ASSERT_EQ(
      RunShell("evmctl ima_sign -a sha256 --key " + ShellQuote(ima_.key_path) +
               " " + ShellQuote(rootfs_ + "/etc/hostname"))
          .exit_code,
      0);
  CommandResult build = RunBuild(rootfs_, dir_.Sub("b.imab"), *keys_);
  EXPECT_EQ(build.exit_code, 2);
  EXPECT_THAT(build.err, HasSubstr("etc/hostname"));
}

TEST_P(ImaRoundTripTest, ExcludedFilesShipUnsignedAndTheRestSigned) {
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_,
                                 ImaFlags() + " --ima-exclude 'home/**'");
  ASSERT_EQ(build.exit_code, 0) << build.err;
  std::string out = dir_.Sub("extracted");
  ASSERT_EQ(RunExtract(bundle, keys_->ca().cert_path, out).exit_code, 0);
  EXPECT_NE(RunShell("getfattr -n security.ima " +
                     ShellQuote(out + "/home/user/notes"))
                .exit_code,
            0);
  EXPECT_EQ(
      RunShell("getfattr -n security.ima " + ShellQuote(out + "/etc/hostname"))
          .exit_code,
      0);
}

INSTANTIATE_TEST_SUITE_P(ImaKeys, ImaRoundTripTest,
                         ::testing::Values(KeyType::kRsa2048, KeyType::kEcP256),
                         [](const ::testing::TestParamInfo<KeyType>& p) {
                           return p.param == KeyType::kRsa2048
                                      ? std::string("Rsa2048")
                                      : std::string("EcP256");
                         });

}  // namespace
}  // namespace imab::testing
