// All three private keys in a PKCS#11 token (SoftHSM2): the kernel CA key
// issues the IMA/EVM signing certificate, the IMA/EVM key signs every file,
// the release key signs the manifest; the bundle verifies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/softhsm.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

TEST(HsmTest, BuildAndVerifyWithEveryPrivateKeyInTheToken) {
  if (!SoftHsm::Available()) {
    GTEST_SKIP() << "SoftHSM2 not installed";
  }
  TempDir dir;
  SoftHsm hsm;
  ASSERT_TRUE(hsm.ok());
  CertOptions rsa;
  rsa.key_type = KeyType::kRsa2048;
  TestIdentity release_ca = MakeRootCa(dir.Sub(""), "release-ca");
  TestIdentity release = MakeIssued(dir.Sub(""), "release", release_ca);
  TestIdentity kernel_ca = MakeRootCa(dir.Sub(""), "kernel-ca", rsa);
  ASSERT_TRUE(hsm.ImportKey(release.key_path, "release", "01"));
  ASSERT_TRUE(hsm.ImportKey(kernel_ca.key_path, "kernel-ca", "02"));
  fs::remove(release.key_path);
  fs::remove(kernel_ca.key_path);

  // The CA key in the token issues the IMA/EVM signing certificate.
  std::string module = " --pkcs11-module " + ShellQuote(SoftHsm::kModulePath);
  CommandResult issued =
      RunShell(ShellQuote(BuildBin()) + " key create-signing --ca-key " +
               ShellQuote(hsm.Uri("kernel-ca")) + " --ca-cert " +
               ShellQuote(kernel_ca.cert_path) + " --out-key " +
               ShellQuote(dir.Sub("ima.key")) + " --out-cert " +
               ShellQuote(dir.Sub("ima.der")) +
               " --subject '/O=Test/CN=IMA 1'" + module);
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  ASSERT_TRUE(hsm.ImportKey(dir.Sub("ima.key"), "ima", "03"));
  fs::remove(dir.Sub("ima.key"));

  std::string rootfs = dir.Sub("rootfs");
  SampleTreeOptions small;
  small.big_file_bytes = 100000;
  MakeSampleTree(rootfs, small);
  std::string bundle = dir.Sub("b.imab");
  CommandResult build =
      RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
               " build --rootfs " + ShellQuote(rootfs) +
               " --version 1 --compatible hsm-board --signing-key " +
               ShellQuote(hsm.Uri("release")) + " --signing-cert " +
               ShellQuote(release.cert_path) + " --ima-key " +
               ShellQuote(hsm.Uri("ima")) + " --ima-cert " +
               ShellQuote(dir.Sub("ima.der")) + " --kernel-ca " +
               ShellQuote(kernel_ca.cert_path) + module + " --output " +
               ShellQuote(bundle));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_THAT(build.err, Not(HasSubstr(SoftHsm::kUserPin)));
  CommandResult verify = RunVerify(bundle, release_ca.cert_path);
  EXPECT_EQ(verify.exit_code, 0) << verify.err;

  // A wrong PIN is a clear error that does not echo the PIN.
  std::string bad_uri = hsm.Uri("release");
  bad_uri.replace(bad_uri.find("pin-value=") + 10, 4, "9999");
  CommandResult refused = RunShell(
      ShellQuote(BuildBin()) + " build --rootfs " + ShellQuote(rootfs) +
      " --version 1 --compatible hsm-board --signing-key " +
      ShellQuote(bad_uri) + " --signing-cert " + ShellQuote(release.cert_path) +
      module + " --output " + ShellQuote(dir.Sub("c.imab")));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, Not(HasSubstr("9999")));
  EXPECT_FALSE(fs::exists(dir.Sub("c.imab")));
}

}  // namespace
}  // namespace imab::testing
