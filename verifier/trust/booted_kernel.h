// BootedKernel: which kernel boots after an update, for the trust
// decision: the kernels the bundle ships when it declares them (FORMAT.md
// §3.3.3: every kernel a bootloader could start is declared and carries
// every CA, which the streaming check confirms in their bytes), else the
// device's own kernel, which keeps booting.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/read/handles.h"
#include "common/read/kernel_profile.h"
#include "common/read/manifest.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {

struct BootedKernel {
  bool shipped = false;  // the bundle ships the kernels that boot
  // How that kernel computes EVM digests: the bundle's profile for a
  // shipped kernel, else the device's.
  KernelProfile profile;
  // The newest kernel that may boot, whose (strictest) keyring rules hold,
  // and every version that may boot.
  KernelVersion newest;
  std::set<KernelVersion> may_boot;
  std::vector<Ptr<X509>> cas;  // built into it
};

// The kernel that boots after `header`'s update on `device`. A shipped
// kernel with no declared CA, or a bundle CA that does not parse, is a
// line in `problems`.
BootedKernel KernelAfterReboot(const ManifestHeader& header,
                               const DeviceTrust& device,
                               std::vector<std::string>& problems);

}  // namespace imab::verifier
