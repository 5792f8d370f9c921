#include "tests/testutil/device_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

namespace imab::testing {

TestDevice::TestDevice(std::string root, const ReleaseKeys& keys,
                       const std::string& key_dir)
    : root_(std::move(root)),
      keys_(keys),
      kernel_ca_(MakeRootCa(key_dir, "kernel-ca")),
      ima_(MakeIssued(key_dir, "ima", kernel_ca_)),
      ima_der_(key_dir + "/ima.der") {
  EXPECT_EQ(RunShell("openssl x509 -in " + ShellQuote(ima_.cert_path) +
                     " -outform DER -out " + ShellQuote(ima_der_))
                .exit_code,
            0);
}

CommandResult TestDevice::Init(const std::string& extra) const {
  return RunShell(ShellQuote(VerifyBin()) + " device init --root " +
                  ShellQuote(root_) + " --compatible test-board --release-ca " +
                  ShellQuote(keys_.ca().cert_path) + " --kernel-ca " +
                  ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
                  ShellQuote(ima_der_) + " " + extra);
}

CommandResult TestDevice::InitWithTrustRoot(const std::string& trust_root,
                                            const std::string& extra) const {
  return RunShell(ShellQuote(VerifyBin()) + " device init --root " +
                  ShellQuote(root_) + " --compatible test-board --trust-root " +
                  ShellQuote(trust_root) + " --kernel-ca " +
                  ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
                  ShellQuote(ima_der_) + " " + extra);
}

std::string TestDevice::ImaBuildFlags() const {
  return "--ima-key " + ShellQuote(ima_.key_path) + " --ima-cert " +
         ShellQuote(ima_der_);
}

std::string TestDevice::InstallCommand(const std::string& bundle,
                                       const std::string& extra) const {
  return ShellQuote(VerifyBin()) + " install " + ShellQuote(bundle) +
         " --root " + ShellQuote(root_) + " --no-time-check " + extra;
}

CommandResult TestDevice::Install(const std::string& bundle,
                                  const std::string& extra) const {
  return RunShell(InstallCommand(bundle, extra));
}

CommandResult TestDevice::Status(const std::string& extra) const {
  return RunShell(ShellQuote(VerifyBin()) + " status --root " +
                  ShellQuote(root_) + " " + extra);
}

std::string TestDevice::SlotsDir() const {
  return root_ + "/var/lib/imabundle";
}

std::string TestDevice::ActiveSlotName() const {
  std::error_code ec;
  std::filesystem::path target =
      std::filesystem::read_symlink(SlotsDir() + "/active", ec);
  return ec ? "" : target.string();
}

std::string TestDevice::SlotPath(const std::string& name) const {
  return SlotsDir() + "/" + name;
}

void BuildVersion(const std::string& rootfs, const std::string& output,
                  const ReleaseKeys& keys, const std::string& version,
                  const std::string& extra) {
  CommandResult build =
      RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
               " build --rootfs " + ShellQuote(rootfs) + " --version " +
               version + " --compatible test-board --signing-key " +
               ShellQuote(keys.signer().key_path) + " --signing-cert " +
               ShellQuote(keys.signer().cert_path) + " --output " +
               ShellQuote(output) + " " + extra);
  ASSERT_EQ(build.exit_code, 0) << build.err;
}

DeviceTest::DeviceTest()
    : keys_(std::make_unique<ReleaseKeys>(dir_.Sub(""))),
      device_(std::make_unique<TestDevice>(dir_.Sub("device"), *keys_,
                                           dir_.Sub(""))),
      rootfs_(dir_.Sub("rootfs")) {}

void WriteDeviceFolder(const std::string& root,
                       const std::string& kernel_ca_pem,
                       const std::string& ima_der,
                       const std::string& release_ca_pem,
                       const std::string& extra_conf) {
  namespace fs = std::filesystem;
  const std::string etc = root + "/etc/imabundle";
  fs::create_directories(etc);
  fs::copy_file(kernel_ca_pem, etc + "/kernel-ca.pem",
                fs::copy_options::overwrite_existing);
  fs::copy_file(ima_der, etc + "/ima.der",
                fs::copy_options::overwrite_existing);
  fs::copy_file(release_ca_pem, etc + "/release-ca.pem",
                fs::copy_options::overwrite_existing);
  WriteFile(etc + "/device.conf",
            "compatible = test-board\n"
            "kernel-ca = /etc/imabundle/kernel-ca.pem\n"
            "ima-cert = /etc/imabundle/ima.der\n"
            "release-ca = /etc/imabundle/release-ca.pem\n" +
                extra_conf);
}

TrustRootPair MakeTrustRootPair(const std::string& dir,
                                const ReleaseKeys& first,
                                const ReleaseKeys& second) {
  for (const char* k : {"a", "b", "c", "d"}) {
    EXPECT_EQ(RunShell("openssl genpkey -algorithm EC -pkeyopt "
                       "ec_paramgen_curve:P-256 -out " +
                       ShellQuote(dir + "/root-" + k + ".key"))
                  .exit_code,
              0);
  }
  auto key = [&](const std::string& k) {
    return " --key " + ShellQuote(dir + "/root-" + k + ".key");
  };
  auto trust_root = [&](const std::string& name, const std::string& args,
                        const std::vector<std::string>& signers) {
    std::string out = dir + "/" + name;
    CommandResult create =
        RunShell(ShellQuote(BuildBin()) + " trust-root create " + args +
                 " --out " + ShellQuote(out));
    EXPECT_EQ(create.exit_code, 0) << create.err;
    for (const std::string& k : signers) {
      CommandResult sign =
          RunShell(ShellQuote(BuildBin()) + " trust-root sign --root " +
                   ShellQuote(out) + key(k) + " --out " + ShellQuote(out));
      EXPECT_EQ(sign.exit_code, 0) << sign.err;
    }
    return out;
  };
  TrustRootPair pair;
  pair.first = trust_root("root-1.trust",
                          "--version 1 --threshold 2 --release-ca " +
                              ShellQuote(first.ca().cert_path) + key("a") +
                              key("b") + key("c"),
                          {"a", "b"});
  pair.second = trust_root("root-2.trust",
                           "--version 2 --threshold 2 --release-ca " +
                               ShellQuote(second.ca().cert_path) + key("b") +
                               key("c") + key("d"),
                           {"a", "b", "d"});
  return pair;
}

}  // namespace imab::testing
