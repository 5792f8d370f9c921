// Trust material as data (issue 14, item 3): the main loads the release
// CAs, the device's configuration, state, keys and policy, and opens the
// bundle, once; VerifyBundle then reads only what it was handed. Shown two
// ways: every input is moved away between loading and verifying, and the
// verification gives the same verdict; and under strace, imab-verify opens
// each input file once (a DER certificate twice, see below), none of them
// again once the checks run.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/trust_inputs.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/device/install.h"
#include "verifier/load/material_loader.h"

namespace imab::testing {
namespace {

namespace fs = std::filesystem;

class TrustMaterialTest : public DeviceTest {
 protected:
  void SetUp() override {
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 16;
    MakeSampleTree(rootfs_, small);
    bundle_ = dir_.Sub("v1.0.imab");
    BuildVersion(rootfs_, bundle_, *keys_, "1.0", device_->ImaBuildFlags());
  }

  // Everything `verify --root` loads, as the main loads it.
  void LoadDeviceRun(verifier::LoadedRun& run) {
    std::string slots_dir;
    auto device =
        verifier::LoadDeviceConfigAndState(device_->root(), slots_dir);
    ASSERT_TRUE(device.has_value()) << device.error().message;
    auto trust = verifier::LoadDeviceTrust(device->config, device->state);
    ASSERT_TRUE(trust.has_value()) << trust.error().message;
    device->trust = std::move(*trust);
    auto release =
        verifier::LoadDeviceReleaseAnchors(device->config, device->state);
    ASSERT_TRUE(release.has_value()) << release.error().message;
    auto ca = verifier::LoadDeviceRequiredCas(device->config, {});
    ASSERT_TRUE(ca.has_value()) << ca.error().message;
    Status opened = verifier::OpenBundle(bundle_, run);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    run.trust.release = std::move(*release);
    run.options.signature.check_time = false;
    run.options.ca = std::move(*ca);
    verifier::ApplyDeviceSettings(device->config, slots_dir, run.options);
    run.trust.device = std::move(*device);
  }

  std::string bundle_;
};

TEST_F(TrustMaterialTest, VerifyReadsNothingButWhatTheMainLoaded) {
  LoadedVerify loaded;
  ASSERT_TRUE(LoadForVerify(bundle_, keys_->ca().cert_path, loaded).ok());
  // Neither the bundle nor the CA file exists any more by its name.
  fs::remove(bundle_);
  fs::rename(keys_->ca().cert_path, dir_.Sub("moved-ca.pem"));
  verifier::NullSink sink;
  verifier::VerifyReport report;
  auto verified = verifier::VerifyBundle(loaded.options, sink, report);
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(verified->header.image_version, "1.0");
  EXPECT_GT(verified->files, 0u);
  ASSERT_TRUE(report.facts.has_value());
  EXPECT_EQ(report.facts->manifest_sha256, verified->manifest_sha256);
}

TEST_F(TrustMaterialTest, DeviceVerifyReadsNothingFromTheDeviceFolder) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  verifier::LoadedRun run;
  ASSERT_NO_FATAL_FAILURE(LoadDeviceRun(run));
  // The whole device folder and the bundle's name are gone: a check that
  // still read device.conf, a certificate, the policy or a slot state by
  // path would fail now.
  fs::rename(device_->root(), dir_.Sub("device-moved"));
  fs::remove(bundle_);
  verifier::NullSink sink;
  verifier::VerifyReport report;
  auto verified = verifier::VerifyBundle(run.options, sink, report);
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  ASSERT_TRUE(verified->trust.has_value());
  EXPECT_TRUE(verified->trust->accepted()) << verified->trust->Summary();
  EXPECT_GT(verified->trust->appraised_files, 0u);
}

// The files under `dir` that `log` (strace -f -e trace=open,openat,openat2)
// shows opened for reading or writing (O_PATH lookups excluded), with the
// number of opens of each.
std::map<std::string, int> OpenedUnder(const std::string& log,
                                       const std::string& dir) {
  std::map<std::string, int> opened;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    size_t quote = line.find('"');
    size_t end = quote == std::string::npos ? quote : line.find('"', quote + 1);
    if (end == std::string::npos || line.find("O_PATH") != std::string::npos) {
      continue;
    }
    std::string path = line.substr(quote + 1, end - quote - 1);
    if (path.rfind(dir + "/", 0) == 0) {
      ++opened[path];
    }
  }
  return opened;
}

TEST_F(TrustMaterialTest, VerifyRootOpensEachInputOnce) {
  if (RunShell("command -v strace").exit_code != 0) {
    GTEST_SKIP() << "strace is not installed";
  }
  ASSERT_EQ(device_->Init().exit_code, 0);
  const std::string log = dir_.Sub("strace.log");
  CommandResult verify = RunShell(
      // LeakSanitizer cannot run under ptrace: off for the traced run only.
      "ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" "
      "strace -f -qq -e trace=open,openat,openat2 -o " +
      ShellQuote(log) + " " + ShellQuote(VerifyBin()) + " verify " +
      ShellQuote(bundle_) + " --root " + ShellQuote(device_->root()) +
      " --no-time-check");
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  std::map<std::string, int> opened =
      OpenedUnder(ReadFile(log), fs::canonical(dir_.Sub("")).string());
  const std::string etc =
      fs::canonical(device_->root()).string() + "/etc/imabundle/";
  for (const char* name : {"device.conf", "release-ca.pem", "kernel-ca.pem"}) {
    EXPECT_EQ(opened[etc + name], 1) << name;
  }
  // A DER certificate is read twice by the one loader: its PEM-or-DER read
  // tries PEM first (LoadPemCertificates, then LoadCertificate); once
  // common/read parses certificates from bytes, it reads each file once.
  EXPECT_GE(opened[etc + "ima.der"], 1);
  EXPECT_LE(opened[etc + "ima.der"], 2);
  EXPECT_EQ(opened[fs::canonical(bundle_).string()], 1);
  for (const auto& [path, count] : opened) {
    if (path != etc + "ima.der") {
      EXPECT_EQ(count, 1) << path << " opened " << count << " times";
    }
  }
}

}  // namespace
}  // namespace imab::testing
