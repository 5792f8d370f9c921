#include "verifier/trust/booted_kernel.h"

#include <openssl/x509.h>

#include <algorithm>

#include "common/read/x509_util.h"

namespace imab::verifier {

BootedKernel KernelAfterReboot(const ManifestHeader& header,
                               const DeviceTrust& device,
                               std::vector<std::string>& problems) {
  BootedKernel kernel;
  kernel.shipped = header.keys.has_value() && !header.keys->kernels.empty();
  kernel.profile = device.profile;
  kernel.newest = device.kernel_version;
  kernel.may_boot = {device.kernel_version};
  if (!kernel.shipped) {
    for (const Ptr<X509>& ca : device.kernel_cas) {
      kernel.cas.emplace_back(X509_dup(ca.get()));
    }
    return kernel;
  }
  // A shipped kernel boots with the CAs it carries: with none declared
  // they are unknown, and the device's own CAs would be a guess.
  if (header.keys->kernel_cas.empty()) {
    problems.push_back(
        "the image ships a kernel but declares none of the CAs built into "
        "it (no kernel-ca line)");
  }
  // A new kernel computes EVM digests its own way: the bundle's profile.
  if (header.ima.has_value()) {
    kernel.profile = header.ima->profile;
  }
  // Any of them may boot: the strictest (newest) kernel's rules hold.
  kernel.newest = KernelVersion{0, 0};
  kernel.may_boot.clear();
  for (const KernelRecord& k : header.keys->kernels) {
    kernel.newest = std::max(kernel.newest, KernelVersion{k.major, k.minor});
    kernel.may_boot.insert(KernelVersion{k.major, k.minor});
  }
  for (const std::string& der : header.keys->kernel_cas) {
    Result<Ptr<X509>> ca = ParseCertificateDer(der, "bundle kernel CA");
    if (!ca.has_value()) {
      problems.push_back("kernel CA of the bundle does not parse");
      continue;
    }
    kernel.cas.push_back(std::move(*ca));
  }
  return kernel;
}

}  // namespace imab::verifier
