// KernelProfile: what the device kernel's EVM hashes for a portable
// signature (ima-evm-formats.md §4.2): the layout of hmac_misc and the list
// of protected xattrs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/read/result.h"

namespace imab {

// The kernel's protected xattrs in the order it hashes them.
inline const std::vector<std::string>& AllEvmXattrs() {
  static const std::vector<std::string> kAll = {
      "security.selinux",     "security.SMACK64",
      "security.SMACK64EXEC", "security.SMACK64TRANSMUTE",
      "security.SMACK64MMAP", "security.apparmor",
      "security.ima",         "security.capability"};
  return kAll;
}

struct KernelProfile {
  int word_bits = 64;       // 64 (LP64) or 32
  bool big_endian = false;  // byte order of hmac_misc
  // Hashed xattrs, a subsequence of AllEvmXattrs() (kernel >= 5.14: all;
  // older kernels: the ones compiled in). Must include security.ima.
  std::vector<std::string> evm_xattrs = AllEvmXattrs();

  bool operator==(const KernelProfile&) const = default;
};

// Parses a profile name: "le64" (default: 64-bit little-endian, >= 5.14),
// "le32", "be64", "be32", optionally followed by ":" and a comma-separated
// xattr list for kernels before 5.14 ("le64:security.selinux,security.ima,
// security.capability"). kInvalidArgument naming the problem (unknown name,
// xattr not protected by EVM, out of kernel order, security.ima missing).
Result<KernelProfile> ParseKernelProfile(std::string_view text);

// The canonical name ParseKernelProfile accepts back ("le64", or
// "le32:security.ima,security.capability" when the list is not the full one).
std::string KernelProfileName(const KernelProfile& profile);

}  // namespace imab
