// The one place imab-verify reads trust material from files: the release
// CAs or trust root, the CA anchors a device requires, the device's
// configuration, state, keys and IMA policy, and the inputs `device init`
// provisions a device with. Called by the main
// (verifier/cli/) once per run; what it returns (trust_material.h) is all
// the verification below it reads besides the bundle. Paths under a
// device's root resolve beneath it (DeviceRoot: openat2 RESOLVE_IN_ROOT).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/bundle/trust_material.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_init.h"
#include "verifier/device/device_state.h"

namespace imab::verifier {

// What one run reads, loaded once: the trust material, the opened bundle,
// and the options for VerifyBundle, which point into the other two (so a
// LoadedRun never moves once filled).
struct LoadedRun {
  TrustMaterial trust;
  std::unique_ptr<FileByteSource> bundle;
  VerifyOptions options;
};

// Opens the bundle file `path` into `run` (the one open of it; messages
// name `path`) and points run.options at run.bundle and run.trust. kIo or
// kInvalidArgument as FileByteSource::Open.
Status OpenBundle(const std::string& path, LoadedRun& run);

// The command line's trust (--release-ca PEM file or --trust-root file):
// exactly one of the two paths is set, else kInvalidArgument "give either
// --release-ca or --trust-root". Errors as LoadReleaseCaFile and
// LoadTrustRootFile.
Result<ReleaseAnchors> LoadReleaseAnchors(const std::string& release_ca,
                                          const std::string& trust_root);

// Every certificate of the PEM file `path` as a release CA. kIo
// "trust-root: PATH: ..." when it cannot be read (the trust-root check's
// name, as the check reported it before loading moved here);
// kInvalidArgument naming the file when it holds no certificate or one
// that does not parse.
Result<ReleaseAnchors> LoadReleaseCaFile(const std::string& path);

// The signed trust root in the file `path`, read once with a
// kMaxTrustRootBytes cap and parsed (its signatures are the
// verification's to check). kInvalidArgument "PATH: ..." otherwise.
Result<ReleaseAnchors> LoadTrustRootFile(const std::string& path);

// What the device trusts for bundle signatures: the trust root it adopted
// last (state.trust_root: nothing is read), else its configured trust root
// or release CA, resolved beneath ROOT. kInvalidArgument naming ROOT/path
// when the file does not exist or cannot be resolved; else as above.
Result<ReleaseAnchors> LoadDeviceReleaseAnchors(const DeviceConfig& config,
                                                const DeviceState& state);

// `specs` (--ca-require: a link NAME, or a certificate FILE, loaded now)
// and `horizon_days`. kIo / kInvalidArgument naming a file that exists
// but holds no certificate.
Result<RequiredCas> LoadRequiredCas(const std::vector<std::string>& specs,
                                    uint32_t horizon_days);

// `specs` followed by the anchors device.conf requires (a value with a '/'
// names a certificate file inside ROOT, resolved beneath it; anything else
// a link name), with the device's horizon.
Result<RequiredCas> LoadDeviceRequiredCas(const DeviceConfig& config,
                                          std::vector<std::string> specs);

// The certificates and policy `config` names under its root; the keys
// `state` recorded for the installed image, when it has any, replace the
// configured (factory) kernel CAs and loaded certificates.
// kInvalidArgument naming the file for one that cannot be read or parsed.
Result<DeviceTrust> LoadDeviceTrust(const DeviceConfig& config,
                                    const DeviceState& state);

// For `verify --root`: ROOT's configuration and the state an install
// would be judged against (StateToJudgeAgainst in
// verifier/device/boot_control.h: a pending fallback taken in thought, an
// install refused from an unconfirmed or not yet rebooted slot; empty when
// the slots were never created); the trust is LoadDeviceTrust's to fill.
// `slots_dir` is set to the slots folder's real location, or the configured one
// when the device has none. Errors as LoadDeviceConfig, FindSlotsFolder,
// OpenBootloader, OpenSlots and StateToJudgeAgainst.
Result<DeviceMaterial> LoadDeviceConfigAndState(const std::string& root,
                                                std::string& slots_dir);

// The files `device init` copies into a device, each read once with a
// 1 MiB cap (symlinks followed: x509_ima.der often links to x509_evm.der):
// --kernel-ca (PEM certificates) and --ima-cert (one PEM or DER
// certificate) always, --release-ca (PEM) or --trust-root, --evm-cert and
// --ima-policy when given. kInvalidArgument "OPTION PATH: ..." for one that
// cannot be read or holds no certificate where one is needed.
Result<InitInputs> LoadInitInputs(const InitOptions& options);

}  // namespace imab::verifier
