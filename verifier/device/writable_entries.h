// WritableEntries: records an install could not write, refused when the
// bundle is verified (before any slot is touched) instead of half-way
// through writing an image (FORMAT.md §3.5, "What an install can write").
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/read/byte_source.h"
#include "common/read/entry.h"
#include "common/read/result.h"

namespace imab::verifier {

// Bytes an install may put before every PATH (the staging folder and its
// '/') when the real one is not known: `verify` without a device.
inline constexpr size_t kDefaultPathReserve = 256;

// OK when the kernel would let an install create `entry` below a folder
// whose path, with the final '/', is `reserve` bytes long. Refused
// (kMalformed, naming the path escaped and the rule): reserve + PATH of
// PATH_MAX (4096) bytes or more (open(2) and friends fail with
// ENAMETOOLONG; a hardlink's TARGET likewise); a symlink TARGET of 4096
// bytes or more (symlink(2)); an xattr name outside the namespaces Linux
// knows (security., trusted., user. with a non-empty rest, and
// system.posix_acl_access / system.posix_acl_default: EOPNOTSUPP); a
// user.* xattr on anything but a file or a folder (EPERM,
// fs/xattr.c xattr_permission); system.posix_acl_default on anything but
// a folder.
Status CheckWritable(const Entry& entry, size_t reserve);

// Parses every record of the manifest `manifest` (its private copy, a
// whole ByteSource) and checks each with the tree rules (ImageTree) and
// CheckWritable, so a bundle that could not be installed is refused before
// anything is written. The first failure, naming the entry.
Status CheckManifestEntries(ByteSource& manifest, size_t reserve);

}  // namespace imab::verifier
