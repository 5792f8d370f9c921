// Small device files (slot states, last result, device.conf): read whole
// through the one bounded reader (common/read/input_file.h) with the
// device's rules. Their all-or-nothing replacement is
// common/read/atomic_file.h.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/read/result.h"

namespace imab::verifier {

// The whole content of `path`, or nullopt when it does not exist. kIo
// naming the path when it cannot be read, is larger than `max_bytes`, or is
// a symlink, FIFO, device or anything but a regular file (opened with
// O_NONBLOCK, so such a file never blocks the read): trouble with the
// device's own files is an I/O failure, never a verdict on a bundle.
Result<std::optional<std::string>> ReadSmallFile(const std::string& path,
                                                 size_t max_bytes);

}  // namespace imab::verifier
