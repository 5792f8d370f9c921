// Keys and helpers shared by the integration tests: a release CA, a
// signing certificate, and wrappers around the two executables.
#pragma once

#include <string>

#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {

class ReleaseKeys {
 public:
  explicit ReleaseKeys(const std::string& dir,
                       KeyType signer_type = KeyType::kEcP256);
  const TestIdentity& ca() const { return ca_; }
  const TestIdentity& signer() const { return signer_; }

 private:
  TestIdentity ca_;
  TestIdentity signer_;
};

// `imab-build build` with the given keys; `extra` is appended verbatim.
CommandResult RunBuild(const std::string& rootfs, const std::string& output,
                       const ReleaseKeys& keys, const std::string& extra = "");
// `imab-verify verify BUNDLE --release-ca CA` plus `extra`.
CommandResult RunVerify(const std::string& bundle, const std::string& ca,
                        const std::string& extra = "");
// `imab-verify verify BUNDLE --root ROOT` plus `extra`: the bundle checks,
// then the trust decision and rollback checks of the device folder ROOT.
CommandResult RunVerifyOnDevice(const std::string& bundle,
                                const std::string& root,
                                const std::string& extra = "");
// `imab-verify install BUNDLE --root ROOT` plus `extra`.
CommandResult RunInstallOnDevice(const std::string& bundle,
                                 const std::string& root,
                                 const std::string& extra = "");
// `imab-verify extract BUNDLE --release-ca CA --to DIR`.
CommandResult RunExtract(const std::string& bundle, const std::string& ca,
                         const std::string& to);

}  // namespace imab::testing
