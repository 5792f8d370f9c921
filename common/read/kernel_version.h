// KernelVersion: a Linux release as MAJOR.MINOR, the granularity at which
// the kernel's keyring and policy rules change (manifests/kernel-rules.md).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/read/result.h"

namespace imab {

struct KernelVersion {
  // 6.6: what a device.conf without kernel-version has always meant.
  uint32_t major = 6;
  uint32_t minor = 6;
  auto operator<=>(const KernelVersion&) const = default;
};

// "6.1", "6.12". Also takes what `uname -r` prints ("6.1.0-13-amd64",
// "6.12.8+deb13"): whatever follows MAJOR.MINOR after '.', '-', '+' or '~'
// does not change the rules. kInvalidArgument ("kernel version \"6\": expected
// MAJOR.MINOR, e.g. 6.1") for anything else.
Result<KernelVersion> ParseKernelVersion(std::string_view text);

// "6.12".
std::string KernelVersionName(KernelVersion version);

}  // namespace imab
