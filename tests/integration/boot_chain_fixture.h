// The fixture of the boot-chain end-to-end tests (issue 12, items 1 and 4):
// a rootfs with an initramfs, a device booting a kernel built with
// kernel_ca_, release keys, and helpers to build, judge and re-sign.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/fake_kernel.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {

namespace fs = std::filesystem;

inline constexpr uint64_t kCreated =
    1700000000;  // SOURCE_DATE_EPOCH of RunBuild

class BootChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("cpio")) {
      GTEST_SKIP() << "cpio not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    old_ = MakeIssued(dir_.Sub(""), "old", kernel_ca_);
    new_ = MakeIssued(dir_.Sub(""), "new", kernel_ca_);
    other_ca_ = MakeRootCa(dir_.Sub(""), "other-ca");
    under_other_ = MakeIssued(dir_.Sub(""), "under-other", other_ca_);
    rootfs_ = dir_.Sub("rootfs");
    MakeBootableSampleTree(rootfs_);
    WriteInitramfs(rootfs_ + "/boot/initramfs.img", old_);
    device_ = dir_.Sub("device");
    WriteDevice();
  }

  // A gzip newc initramfs loading `cert` into .ima and .evm.
  void WriteInitramfs(const std::string& path, const TestIdentity& cert) {
    std::string tree = dir_.Sub("initrd-" + fs::path(path).filename().string());
    fs::create_directories(tree + "/etc/keys");
    WriteFile(tree + "/init", "#!/bin/sh\n");
    WriteFile(tree + "/etc/keys/x509_evm.der", ReadFile(DerCopy(cert)));
    ASSERT_NO_FATAL_FAILURE(WriteGzipInitramfs(tree, path));
  }

  // The device boots a kernel with kernel_ca_ built in, old_ loaded,
  // profile le64 (the default).
  void WriteDevice() {
    WriteDeviceFolder(device_, kernel_ca_.cert_path, DerCopy(old_),
                      keys_->ca().cert_path);
  }

  // Builds with `signer` as the IMA/EVM key; `extra` appended.
  CommandResult Build(const TestIdentity& signer, const std::string& extra,
                      const std::string& name = "b.imab") {
    return RunBuild(rootfs_, dir_.Sub(name), *keys_,
                    "--ima-key " + ShellQuote(signer.key_path) +
                        " --ima-cert " + ShellQuote(DerCopy(signer)) + " " +
                        extra);
  }

  std::string KernelCa(const TestIdentity& ca) {
    return "--kernel-ca " + ShellQuote(ca.cert_path);
  }

  CommandResult Judge(const std::string& name) {
    return RunVerifyOnDevice(dir_.Sub(name), device_);
  }

  // The bundle `name` with its manifest edited by `edit` and signed again
  // by the release signer: what a buggy or hostile builder holding the
  // release key could ship. Written as `out`.
  void Resign(const std::string& name, const std::string& out,
              const std::function<void(std::string&)>& edit) {
    const std::string bundle = dir_.Sub(name);
    ForgedBundle forged;
    forged.manifest =
        RunShell("tar -xOf " + ShellQuote(bundle) + " manifest").out;
    forged.payload =
        RunShell("tar -xOf " + ShellQuote(bundle) + " payload.tar.zst").out;
    ASSERT_FALSE(forged.manifest.empty());
    edit(forged.manifest);
    forged.signature = SignWith(forged.manifest, keys_->signer());
    WriteFile(dir_.Sub(out), Assemble(forged, kCreated));
  }

  // A builder that lets the bundle through (056fc7e did) must at least
  // leave the device refusing it.
  void ExpectRefusedIfBuilt(const CommandResult& build,
                            const std::string& name = "b.imab") {
    if (build.exit_code == 0) {
      CommandResult judged = Judge(name);
      EXPECT_EQ(judged.exit_code, 1) << "built, and the device accepts it";
    }
  }

  std::string DerHex(const TestIdentity& id) {
    return RunShell("xxd -p " + ShellQuote(DerCopy(id)) + " | tr -d '\\n'").out;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, old_, new_, other_ca_, under_other_;
  std::string rootfs_, device_;
};

inline void Insert(std::string& text, const std::string& after,
                   const std::string& lines) {
  size_t at = text.find(after);
  ASSERT_NE(at, std::string::npos) << after;
  at = text.find('\n', at) + 1;
  text.insert(at, lines);
}

inline void Erase(std::string& text, const std::string& line_start) {
  size_t at = text.find(line_start);
  ASSERT_NE(at, std::string::npos) << line_start;
  text.erase(at, text.find('\n', at) + 1 - at);
}

}  // namespace imab::testing
