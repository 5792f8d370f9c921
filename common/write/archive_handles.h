// Owning handles for libarchive, which only the release pipeline links
// (tarball input); the device side decompresses with zlib, liblzma and
// libzstd directly.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace imab {

// libarchive uses one struct for reading and writing with different free
// functions, hence two aliases.
struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveReadPtr = std::unique_ptr<struct archive, ArchiveReadDeleter>;
using ArchiveWritePtr = std::unique_ptr<struct archive, ArchiveWriteDeleter>;
using ArchiveEntryPtr =
    std::unique_ptr<struct archive_entry, ArchiveEntryDeleter>;

}  // namespace imab
