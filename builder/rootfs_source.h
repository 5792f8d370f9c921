// RootfsSource: yields the entries of an input root file system, a folder or
// a tarball, in a deterministic order, each with a reader for its content.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/read/entry.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab::builder {

// Streams one regular file's bytes. Valid until the source's next Next().
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  // Reads up to out.size() bytes; 0 means end of content. kIo on failure,
  // naming the file.
  virtual Result<size_t> Read(std::span<uint8_t> out) = 0;
};

struct SourceEntry {
  // Metadata as read: path canonical (FORMAT.md §3.5), mode & 07777, numeric
  // uid/gid, size for files, link_target for links, device numbers, every
  // xattr (sorted). sha256 is NOT set: the caller hashes while streaming.
  // For kHardlink, mode/uid/gid/xattrs are left at their defaults.
  Entry entry;
  // Non-null for kFile; owned by the source.
  ContentReader* content = nullptr;
};

class RootfsSource {
 public:
  virtual ~RootfsSource() = default;
  // The next entry, or nullopt at the end. Every entry's parent folder was
  // yielded before it; hardlinks follow their target. The image root itself
  // is not yielded. On failure: kIo / kInvalidArgument naming the path.
  virtual Result<std::optional<SourceEntry>> Next() = 0;
};

// Opens `path`: a folder is walked (see folder_source.h); a regular file is
// read as a tarball with libarchive (tar, tar.gz, tar.xz, tar.zst, detected
// by content). `reporter` is borrowed and must outlive the source.
Result<std::unique_ptr<RootfsSource>> OpenRootfs(const std::string& path,
                                                 Reporter& reporter);

}  // namespace imab::builder
