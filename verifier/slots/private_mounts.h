// Private mounts: the slot partition an install writes is mounted only in
// a mount namespace of the installer's own, so nothing outside sees it and
// a crash leaves nothing mounted (the namespace dies with the process).
#pragma once

#include <string>

#include "common/read/result.h"

namespace imab::verifier {

// Moves the calling thread (the one that then mounts, writes and reads
// the slot) into a new mount namespace and makes every mount in it
// private (MS_REC | MS_PRIVATE on /), so no mount made there propagates
// back. Once per thread; later calls do nothing. kIo when the kernel
// refuses (not root: "needs CAP_SYS_ADMIN").
Status EnterPrivateMountNamespace();

// Mounts the ext4 on `device` at the folder `dir`: nosuid, nodev,
// noatime, and read-only when `read_only`. A read-only mount right after
// a lazy unmount of the same device retries briefly while the kernel
// finishes with the old one. kIo naming device and folder.
Status MountExt4(const std::string& device, const std::string& dir,
                 bool read_only);

// Unmounts `dir`; `detach` (MNT_DETACH) when descriptors on it may still
// be open: the file system goes once the last one closes. kIo naming it.
Status Unmount(const std::string& dir, bool detach);

}  // namespace imab::verifier
