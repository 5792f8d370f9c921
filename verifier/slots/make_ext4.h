// MakeExt4: a fresh ext4 file system on a slot partition, made by
// e2fsprogs' mkfs.ext4 (`mkfs.ext4 -F -q OPTIONS DEVICE`).
#pragma once

#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

// Runs mkfs.ext4 (from /usr/sbin, /sbin, /usr/bin or /bin; never a PATH
// search) on `device` with `options` (device.conf mkfs-options) before the
// device name, stdin and stdout on /dev/null, a fixed environment. The
// child dies with its parent (PR_SET_PDEATHSIG), so an install killed
// while formatting leaves no mkfs running. One -F only: mkfs.ext4 still
// refuses a partition that is mounted. kIo naming the device, the exit
// status and the first line mkfs printed when it fails.
Status MakeExt4(const std::string& device,
                const std::vector<std::string>& options);

}  // namespace imab::verifier
