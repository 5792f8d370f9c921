// The newc cpio writer: the release pipeline's side of
// common/read/cpio_newc.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/read/cpio_newc.h"
#include "common/read/result.h"

namespace imab {

// Appends the newc encoding of `archive` (members, trailer, trailing zeros)
// to `out`. Deterministic; ParseCpioStream(WriteCpioStream(x)) == x.
// kInvalidArgument when a name is empty, holds a NUL or exceeds
// kMaxCpioNameBytes, or data is larger than a 32-bit size field holds.
Status AppendCpioArchive(const CpioArchive& archive, std::vector<uint8_t>& out);

// The encoding of all `archives` back to back (see AppendCpioArchive).
Result<std::vector<uint8_t>> WriteCpioStream(
    std::span<const CpioArchive> archives);

}  // namespace imab
