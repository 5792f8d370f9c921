#include "tests/testutil/device_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace imab::testing {

TestDevice::TestDevice(std::string root, const ReleaseKeys& keys)
    : root_(std::move(root)), keys_(keys) {}

CommandResult TestDevice::Init(const std::string& extra) const {
  return RunShell(ShellQuote(VerifyBin()) + " device init --root " +
                  ShellQuote(root_) +
                  " --compatible test-board --release-ca " +
                  ShellQuote(keys_.ca().cert_path) + " --kernel-ca " +
                  ShellQuote(keys_.ca().cert_path) + " --ima-cert " +
                  ShellQuote(keys_.signer().cert_path) + " " + extra);
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
  CommandResult build = RunShell(
      "SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
      " build --rootfs " + ShellQuote(rootfs) + " --version " + version +
      " --compatible test-board --signing-key " +
      ShellQuote(keys.signer().key_path) + " --signing-cert " +
      ShellQuote(keys.signer().cert_path) + " --output " +
      ShellQuote(output) + " " + extra);
  ASSERT_EQ(build.exit_code, 0) << build.err;
}

}  // namespace imab::testing
