// The digest a portable EVM signature (type 0x05) signs
// (ima-evm-formats.md §4.2).
#pragma once

#include <cstdint>
#include <vector>

#include "common/read/entry.h"
#include "common/read/hash_algo.h"
#include "common/read/kernel_profile.h"
#include "common/read/result.h"

namespace imab {

// H(value of each xattr of `entry` named in profile.evm_xattrs, in that
// order, skipping absent ones || hmac_misc), where hmac_misc is ino 0,
// generation 0, uid, gid, the full 16-bit i_mode (file type bits from
// entry.type, e.g. S_IFREG | 04755) and zero padding, in the profile's word
// size and byte order (24 bytes for 64-bit, 20 for 32-bit). Only kFile,
// kDir and kSymlink have a defined i_mode here; other types are
// kInvalidArgument.
Result<std::vector<uint8_t>> EvmPortableDigest(const Entry& entry,
                                               const KernelProfile& profile,
                                               HashAlgo algo);

// The hmac_misc block alone (for tests and debug dumps).
std::vector<uint8_t> EvmHmacMisc(uint32_t uid, uint32_t gid, uint16_t i_mode,
                                 const KernelProfile& profile);

}  // namespace imab
