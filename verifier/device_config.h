// DeviceConfig: what the verifier knows about the device it runs on, read
// from ROOT/etc/imabundle/device.conf (manifests/device.conf.md). ROOT plays
// the device's "/" so that tests run against a folder; every path the file
// names is inside ROOT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/kernel_profile.h"
#include "common/result.h"

namespace imab::verifier {

// Where the configuration lives, relative to ROOT.
inline constexpr const char* kDeviceConfigPath = "etc/imabundle/device.conf";

enum class SlotLayout { kAb, kInPlace };

// A kernel release as MAJOR.MINOR; decides which keyring rules apply.
struct KernelVersion {
  uint32_t major = 6;
  uint32_t minor = 6;
  auto operator<=>(const KernelVersion&) const = default;
};

struct DeviceConfig {
  std::string root;        // the device's "/" (absolute, no trailing '/')
  std::string compatible;  // bundles must say the same
  KernelProfile kernel_profile;
  KernelVersion kernel_version;
  // Files inside ROOT (paths relative to ROOT), PEM or DER:
  std::vector<std::string> kernel_cas;  // CAs built into the running kernel
  std::vector<std::string> ima_certs;   // loaded now into .ima
  std::vector<std::string> evm_certs;   // loaded now into .evm
  std::string ima_policy;               // kernel policy syntax; "" = built-in
                                        // appraise_tcb (appraise fowner=0)
  std::string release_ca;               // PEM; or
  std::string trust_root;               // signed release trust root
  // Bundle signer certificates must carry extendedKeyUsage codeSigning
  // (without it: an EKU, when present, must include codeSigning).
  bool release_require_eku = false;
  // Glob patterns (image paths, no leading '/') of files that must always
  // be appraised and trusted, listed first when they are not.
  std::vector<std::string> critical;
  // CA-store anchors the device needs (link name or certificate file) and
  // how long before expiry an anchor counts as lost.
  std::vector<std::string> required_anchors;
  uint32_t ca_expiry_horizon_days = 365;
  SlotLayout layout = SlotLayout::kAb;
  std::string slots_dir = "var/lib/imabundle";  // relative to ROOT
  bool allow_development = false;
};

// The default critical set: the ELF interpreters, every libc, init, and
// the verifier itself.
const std::vector<std::string>& DefaultCriticalFiles();

// Reads ROOT/etc/imabundle/device.conf. kInvalidArgument when it is missing
// ("device not initialised: ROOT/etc/imabundle/device.conf: ..."),
// kInvalidArgument naming file and line for anything malformed.
Result<DeviceConfig> LoadDeviceConfig(const std::string& root);

// The canonical text of `config` (what LoadDeviceConfig reads back).
std::string RenderDeviceConfig(const DeviceConfig& config);

// ROOT + "/" + relative path.
std::string DevicePath(const DeviceConfig& config, const std::string& path);

}  // namespace imab::verifier
