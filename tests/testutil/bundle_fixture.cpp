#include "tests/testutil/bundle_fixture.h"

namespace imab::testing {

namespace {

// A release signer as FORMAT.md §5 wants it (CA:FALSE, digitalSignature
// are MakeIssued's defaults; plus EKU codeSigning).
CertOptions WithKeyType(KeyType type) {
  CertOptions options;
  options.key_type = type;
  options.extended_key_usage = "critical,codeSigning";
  return options;
}

}  // namespace

ReleaseKeys::ReleaseKeys(const std::string& dir, KeyType signer_type)
    : ca_(MakeRootCa(dir, "release-ca")),
      signer_(MakeIssued(dir, "release", ca_, WithKeyType(signer_type))) {}

CommandResult RunBuild(const std::string& rootfs, const std::string& output,
                       const ReleaseKeys& keys, const std::string& extra) {
  return RunShell("SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
                  " build --rootfs " + ShellQuote(rootfs) +
                  " --version 1.2.3 --compatible test-board --signing-key " +
                  ShellQuote(keys.signer().key_path) + " --signing-cert " +
                  ShellQuote(keys.signer().cert_path) + " --output " +
                  ShellQuote(output) + " " + extra);
}

CommandResult RunVerify(const std::string& bundle, const std::string& ca,
                        const std::string& extra) {
  return RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
                  " --release-ca " + ShellQuote(ca) + " " + extra);
}

CommandResult RunVerifyOnDevice(const std::string& bundle,
                                const std::string& root,
                                const std::string& extra) {
  return RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
                  " --root " + ShellQuote(root) + " " + extra);
}

CommandResult RunInstallOnDevice(const std::string& bundle,
                                 const std::string& root,
                                 const std::string& extra) {
  return RunShell(ShellQuote(VerifyBin()) + " install " + ShellQuote(bundle) +
                  " --root " + ShellQuote(root) + " " + extra);
}

CommandResult RunExtract(const std::string& bundle, const std::string& ca,
                         const std::string& to) {
  return RunShell(ShellQuote(VerifyBin()) + " extract " + ShellQuote(bundle) +
                  " --release-ca " + ShellQuote(ca) + " --to " +
                  ShellQuote(to));
}

}  // namespace imab::testing
