// `imab-verify device init`, `install` and `status` end to end on a device
// folder: the A/B switch, refusals that leave the device as it was, the
// install lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>

#include <chrono>
#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"
#include "verifier/device/install_lock.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class InstallTest : public DeviceTest {
 protected:
  void SetUp() override {
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 20;
    MakeSampleTree(rootfs_, small);
  }

  std::string Build(const std::string& version, const std::string& extra = "") {
    std::string bundle = dir_.Sub("v" + version + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, version,
                 device_->ImaBuildFlags() + " " + extra);
    return bundle;
  }

  // The image of `bundle` as `imab-verify extract` writes it (with the
  // security.ima/evm the build added), to compare slots with.
  std::string Extracted(const std::string& bundle) {
    std::string out = bundle + ".tree";
    CommandResult extract = RunExtract(bundle, keys_->ca().cert_path, out);
    EXPECT_EQ(extract.exit_code, 0) << extract.err;
    return out;
  }

  void ExpectConsistent() {
    CommandResult status = device_->Status();
    EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
    EXPECT_THAT(status.out, HasSubstr("consistent: yes"));
  }
};

TEST_F(InstallTest, InitCreatesAnEmptyDevice) {
  CommandResult init = device_->Init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::exists(device_->root() + "/etc/imabundle/device.conf"));
  EXPECT_TRUE(fs::exists(device_->root() + "/etc/imabundle/release-ca.pem"));
  EXPECT_TRUE(fs::exists(device_->root() + "/etc/imabundle/ima.der"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  CommandResult status = device_->Status("--json");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("\"active_slot\": \"a\""));
  EXPECT_THAT(status.out, HasSubstr("\"present\": false"));
  EXPECT_THAT(status.out, Not(HasSubstr("\"present\": true")));
  EXPECT_THAT(status.out, HasSubstr("\"key_generation_floor\": 0"));
  EXPECT_THAT(status.out, HasSubstr("\"keyid\": \""));
}

TEST_F(InstallTest, InitRefusesToOverwriteAndBadInputWritesNothing) {
  CommandResult missing = RunShell(
      ShellQuote(VerifyBin()) + " device init --root " +
      ShellQuote(device_->root()) + " --compatible test-board --release-ca " +
      ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
      ShellQuote(keys_->ca().cert_path) + " --ima-cert /nonexistent.der");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--ima-cert /nonexistent.der"));
  EXPECT_FALSE(fs::exists(device_->root() + "/etc/imabundle"));

  // A policy the verifier cannot evaluate would refuse every update later.
  WriteFile(dir_.Sub("bad.policy"), "appraise fowner=0\nappraise fownr=0\n");
  CommandResult bad_policy =
      device_->Init("--ima-policy " + ShellQuote(dir_.Sub("bad.policy")));
  EXPECT_EQ(bad_policy.exit_code, 2);
  EXPECT_THAT(bad_policy.err,
              HasSubstr("bad.policy:2: unknown condition 'fownr'"));
  EXPECT_FALSE(fs::exists(device_->root() + "/etc/imabundle"));

  // The example policies of manifests/ are accepted as they are.
  ASSERT_EQ(device_
                ->Init("--ima-policy " +
                       ShellQuote(SourceDir() +
                                  "/manifests/ima-policy/signed-rootfs.policy"))
                .exit_code,
            0);
  EXPECT_EQ(
      ReadFile(device_->root() + "/etc/imabundle/ima-policy"),
      ReadFile(SourceDir() + "/manifests/ima-policy/signed-rootfs.policy"));
  CommandResult again = device_->Init();
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("use --force"));
  CommandResult forced = device_->Init("--force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
}

TEST_F(InstallTest, InstallWritesTheInactiveSlotAndSwitches) {
  // An IMA/EVM-signed image: security.ima and security.evm must arrive.
  std::string bundle = Build("1.0");
  ASSERT_EQ(device_->Init().exit_code, 0);
  CommandResult install = device_->Install(bundle);
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_THAT(install.out, HasSubstr("into slot b"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");

  ExpectSameTrees(Extracted(bundle), device_->SlotPath("slot-b"));
  EXPECT_GT(::lgetxattr((device_->SlotPath("slot-b") + "/etc/hostname").c_str(),
                        "security.ima", nullptr, 0),
            0);
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-a")));

  CommandResult status = device_->Status();
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("active slot: b"));
  EXPECT_THAT(status.out,
              HasSubstr("slot b (active): version 1.0 for test-board"));
  EXPECT_THAT(status.out, HasSubstr("slot a: empty"));
  EXPECT_THAT(status.out, HasSubstr("last install: accepted"));
  EXPECT_THAT(status.out, HasSubstr("consistent: yes"));
}

TEST_F(InstallTest, SecondInstallGoesToTheOtherSlot) {
  std::string first = Build("1.0");
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(first).exit_code, 0);
  WriteFile(rootfs_ + "/etc/hostname", "second\n");
  std::string second = Build("2.0");
  CommandResult install = device_->Install(second, "--json");
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_THAT(install.out, HasSubstr("\"installed\": {\"slot\": \"a\""));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  ExpectSameTrees(Extracted(second), device_->SlotPath("slot-a"));
  EXPECT_EQ(ReadFile(device_->SlotPath("slot-b") + "/etc/hostname"),
            "device\n");
  CommandResult status = device_->Status("--json");
  EXPECT_THAT(status.out, HasSubstr("\"version\": \"2.0\""));
  EXPECT_THAT(status.out, HasSubstr("\"version\": \"1.0\""));
  ExpectConsistent();
}

TEST_F(InstallTest, CorruptedPayloadLeavesTheDeviceAsItWas) {
  std::string first = Build("1.0");
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(first).exit_code, 0);
  std::string state_before = ReadFile(device_->SlotsDir() + "/slot-b.state");

  std::string bad = Build("2.0");
  std::string bytes = ReadFile(bad);
  // Inside the compressed payload (the big file's frames), past the
  // manifest: the bundle is refused only while it streams.
  bytes[bytes.size() - 200000] ^= 0x01;
  WriteFile(bad, bytes);
  CommandResult install = device_->Install(bad);
  EXPECT_EQ(install.exit_code, 1) << install.err;
  EXPECT_THAT(install.err, HasSubstr("rejected: "));

  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
  ExpectSameTrees(Extracted(first), device_->SlotPath("slot-b"));
  EXPECT_EQ(ReadFile(device_->SlotsDir() + "/slot-b.state"), state_before);
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-a")));
  for (const auto& entry : fs::directory_iterator(device_->SlotsDir())) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(".imab-")))
        << entry.path();
  }
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("last install: rejected"));
  ExpectConsistent();
}

TEST_F(InstallTest, BundleForAnotherDeviceIsRefusedBeforeWriting) {
  std::string first = Build("1.0");
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(first).exit_code, 0);
  ASSERT_EQ(device_->Install(Build("2.0")).exit_code, 0);
  std::string other = dir_.Sub("other.imab");
  ASSERT_EQ(RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
                     " build --rootfs " + ShellQuote(rootfs_) +
                     " --version 3.0 --compatible other-board " +
                     device_->ImaBuildFlags() + " --signing-key " +
                     ShellQuote(keys_->signer().key_path) + " --signing-cert " +
                     ShellQuote(keys_->signer().cert_path) + " --output " +
                     ShellQuote(other))
                .exit_code,
            0);
  CommandResult install = device_->Install(other);
  EXPECT_NE(install.exit_code, 0);
  EXPECT_THAT(install.err, HasSubstr("other-board"));
  // Refused before the inactive slot (the fallback image) was erased.
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_FALSE(fs::is_empty(device_->SlotPath("slot-b")));
  ExpectConsistent();
}

TEST_F(InstallTest, HeldLockRefusesASecondInstallAtOnce) {
  std::string bundle = Build("1.0");
  ASSERT_EQ(device_->Init().exit_code, 0);
  std::string lock_path = device_->SlotsDir() + "/lock";
  Result<verifier::InstallLock> held =
      verifier::InstallLock::Acquire(lock_path);
  ASSERT_TRUE(held.has_value());
  auto start = std::chrono::steady_clock::now();
  CommandResult install = device_->Install(bundle);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(install.exit_code, 2);
  EXPECT_THAT(
      install.err,
      HasSubstr("another install is running (lock held on " + lock_path + ")"));
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_THAT(device_->Status().out, HasSubstr("an install is running now"));
}

TEST_F(InstallTest, InitFromBundleInstallsTheFactoryImageIntoSlotA) {
  std::string bundle = Build("1.0");
  CommandResult init =
      device_->Init("--from-bundle " + ShellQuote(bundle) + " --no-time-check");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  ExpectSameTrees(Extracted(bundle), device_->SlotPath("slot-a"));
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));
  ExpectConsistent();
}

TEST_F(InstallTest, StatusReportsADamagedState) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(Build("1.0")).exit_code, 0);
  WriteFile(device_->SlotsDir() + "/slot-b.state", "imabundle-slot-state 1\n");
  CommandResult status = device_->Status();
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_THAT(status.out, HasSubstr("consistent: no"));
  // An install refuses to build on a state it cannot read.
  CommandResult install = device_->Install(Build("2.0"));
  EXPECT_EQ(install.exit_code, 2);
  EXPECT_THAT(install.err, HasSubstr("slot-b.state line"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
}

// A bundle carrying the successor of the device's trust root makes the
// device adopt it, and later bundles are checked against the adopted root,
// not the one device init copied.
TEST_F(InstallTest, AdoptedTrustRootIsRecordedAndUsedNextTime) {
  fs::create_directories(dir_.Sub("second"));
  ReleaseKeys release2(dir_.Sub("second"));
  const TrustRootPair roots = MakeTrustRootPair(dir_.Sub(""), *keys_, release2);
  const std::string& root1 = roots.first;
  const std::string& root2 = roots.second;

  ASSERT_EQ(device_->InitWithTrustRoot(root1).exit_code, 0);
  ASSERT_EQ(device_->Install(Build("1.0")).exit_code, 0);
  // Version 2.0: signed by the new release key, carrying root 2.
  std::string v2 = dir_.Sub("v2.imab");
  BuildVersion(rootfs_, v2, release2, "2.0",
               device_->ImaBuildFlags() + " --trust-root " + ShellQuote(root2));
  CommandResult install = device_->Install(v2);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_THAT(ReadFile(device_->SlotsDir() + "/slot-a.state"),
              HasSubstr("trust-root-version 2\n"));
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("trust root version: 2"));

  // Version 3.0, new release key, no root: only the adopted root 2 trusts
  // it; root 1 in etc/imabundle/ would not.
  std::string v3 = dir_.Sub("v3.imab");
  BuildVersion(rootfs_, v3, release2, "3.0", device_->ImaBuildFlags());
  install = device_->Install(v3);
  ASSERT_EQ(install.exit_code, 0) << install.err;
  // Handed to the verifier as bytes from the state: no file is written.
  EXPECT_FALSE(fs::exists(device_->SlotsDir() + "/trust-root"));
  EXPECT_THAT(ReadFile(device_->SlotsDir() + "/slot-b.state"),
              HasSubstr("trust-root-version 2\n"));
  CommandResult judged =
      RunVerify(v3, keys_->ca().cert_path, "--no-time-check");
  EXPECT_EQ(judged.exit_code, 1) << "the old release CA must refuse v3";
}

TEST_F(InstallTest, InPlaceLayoutIsRefusedUntilImplemented) {
  ASSERT_EQ(device_->Init("--layout in-place").exit_code, 0);
  CommandResult install = device_->Install(Build("1.0"));
  EXPECT_EQ(install.exit_code, 2);
  EXPECT_THAT(install.err, HasSubstr("layout is in-place"));
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));
  // An update the device could not trust is refused as such first.
  TestIdentity rotated =
      MakeIssued(dir_.Sub(""), "rotated-in-place", device_->kernel_ca());
  std::string bundle = dir_.Sub("rotated.imab");
  BuildVersion(rootfs_, bundle, *keys_, "1.1",
               "--ima-key " + ShellQuote(rotated.key_path) + " --ima-cert " +
                   ShellQuote(rotated.cert_path));
  CommandResult refused = device_->Install(bundle);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("could not trust this update"));
}

TEST_F(InstallTest, DowngradeIsRefusedAndReinstallNeedsItsFlag) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  std::string v2 = Build("2.0");
  std::string v1 = Build("1.9.9");
  ASSERT_EQ(device_->Install(v2).exit_code, 0);
  const std::string active = device_->ActiveSlotName();
  CommandResult down = device_->Install(v1);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err,
              HasSubstr("image version 1.9.9 is older than the installed "
                        "version 2.0"));
  // verify --root judges the same way without installing.
  CommandResult judged =
      RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(v1) +
               " --no-time-check --root " + ShellQuote(device_->root()));
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  CommandResult same = device_->Install(v2);
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_THAT(same.err, HasSubstr("--allow-reinstall"));
  EXPECT_EQ(device_->ActiveSlotName(), active);
  EXPECT_EQ(device_->Install(v2, "--allow-reinstall").exit_code, 0);
  ExpectConsistent();
}

TEST_F(InstallTest, KeyGenerationFloorRisesAndRefusesOlderKeys) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(Build("1.0", "--key-generation 3")).exit_code, 0);
  // A newer image version, but built with keys of an older generation: a
  // retired key must not come back.
  CommandResult old_keys = device_->Install(Build("1.1", "--key-generation 2"));
  EXPECT_EQ(old_keys.exit_code, 1);
  EXPECT_THAT(old_keys.err,
              HasSubstr("key generation 2 is below the device's floor 3"));
  EXPECT_EQ(device_->Install(Build("1.2", "--key-generation 3")).exit_code, 0);
  CommandResult status = device_->Status("--json");
  EXPECT_THAT(status.out, HasSubstr("\"key_generation\": 3"));
}

TEST_F(InstallTest, ExpiredManifestIsRefusedBeforeWriting) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  std::string bundle = Build("1.0", "--expires 1000000000");
  CommandResult install =
      RunShell(ShellQuote(VerifyBin()) + " install " + ShellQuote(bundle) +
               " --root " + ShellQuote(device_->root()));
  EXPECT_EQ(install.exit_code, 1);
  EXPECT_THAT(install.err, HasSubstr("manifest expired"));
  ExpectConsistent();
}

// After an install the device boots with the keys of the new image's
// initramfs; the next update is judged against those, not the factory ones.
TEST_F(InstallTest, AfterARotationTheDeviceJudgesWithTheNewKeys) {
  if (!HaveTool("cpio")) {
    GTEST_SKIP() << "cpio not installed";
  }
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(device_->Install(Build("1.0")).exit_code, 0);
  TestIdentity rotated =
      MakeIssued(dir_.Sub(""), "rotated", device_->kernel_ca());
  std::string rotated_der = dir_.Sub("rotated.der");
  ASSERT_EQ(RunShell("openssl x509 -in " + ShellQuote(rotated.cert_path) +
                     " -outform DER -out " + ShellQuote(rotated_der))
                .exit_code,
            0);
  const std::string rotated_flags = "--ima-key " +
                                    ShellQuote(rotated.key_path) +
                                    " --ima-cert " + ShellQuote(rotated_der);
  // 2.0 rotates, its initramfs carrying the new certificate.
  std::string initrd = dir_.Sub("initrd");
  fs::create_directories(initrd + "/etc/keys");
  WriteFile(initrd + "/etc/keys/x509_evm.der", ReadFile(rotated_der));
  fs::create_directories(rootfs_ + "/boot");
  ASSERT_EQ(RunShell("cd " + ShellQuote(initrd) +
                     " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > " +
                     ShellQuote(rootfs_ + "/boot/initramfs.img"))
                .exit_code,
            0);
  std::string v2 = dir_.Sub("v2.imab");
  BuildVersion(rootfs_, v2, *keys_, "2.0", rotated_flags);
  CommandResult install = device_->Install(v2);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("loaded by the active image's initramfs"));

  // Images without an initramfs keep the keys the device boots with now.
  fs::remove(rootfs_ + "/boot/initramfs.img");
  std::string v3 = dir_.Sub("v3.imab");
  BuildVersion(rootfs_, v3, *keys_, "3.0", rotated_flags);
  install = device_->Install(v3);
  EXPECT_EQ(install.exit_code, 0) << install.err;
  CommandResult factory_key = device_->Install(Build("4.0"));
  EXPECT_EQ(factory_key.exit_code, 1);
  EXPECT_THAT(factory_key.err,
              HasSubstr("not in the post-update .ima keyring"));
  ExpectConsistent();
}

TEST_F(InstallTest, UninitialisedDeviceIsAClearError) {
  CommandResult install = device_->Install(Build("1.0"));
  EXPECT_EQ(install.exit_code, 2);
  EXPECT_THAT(install.err, HasSubstr("device not initialised"));
  EXPECT_FALSE(fs::exists(device_->root()));
}

}  // namespace
}  // namespace imab::testing
