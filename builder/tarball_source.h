// TarballSource: reads a rootfs tarball with libarchive, keeping numeric
// owners and every xattr (pax SCHILY.xattr.*, LIBARCHIVE.xattr.*).
#pragma once

#include <memory>
#include <string>

#include "builder/rootfs_source.h"

namespace imab::builder {

// Entries come in the tarball's order. Names are normalised ("./usr/" ->
// "usr"); the root entry ("." or "./") is skipped. A missing parent folder
// is synthesised (0755, 0:0) just before the first entry below it, with a
// warning; a folder entry that comes after a synthesised one of the same
// path updates nothing and is an error naming it. Duplicate paths, absolute
// paths, ".." and sockets are errors naming the entry.
Result<std::unique_ptr<RootfsSource>> OpenTarballSource(const std::string& path,
                                                        Reporter& reporter);

}  // namespace imab::builder
