// Entry: one file-system object of an image, the unit that flows through the
// builder's stages, the manifest and the verifier's checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/digest.h"

namespace imab {

enum class EntryType {
  kFile,
  kDir,
  kSymlink,
  kHardlink,
  kChar,
  kBlock,
  kFifo,
};

// Manifest keyword of a type ("file", "dir", ...), FORMAT.md §3.4.
std::string_view EntryTypeName(EntryType type);
std::optional<EntryType> EntryTypeFromName(std::string_view name);

struct Xattr {
  std::string name;   // e.g. "security.ima"
  std::string value;  // exact bytes, may contain NULs
  bool operator==(const Xattr&) const = default;
};

struct Entry {
  std::string path;  // relative, normalised: "usr/lib/libc.so.6"
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;  // permission bits only (& 07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;        // kFile only, else 0
  Sha256Digest sha256{};    // kFile only, else all zero
  std::string link_target;  // kSymlink target, or kHardlink target path
  uint32_t dev_major = 0;   // kChar / kBlock only
  uint32_t dev_minor = 0;
  std::vector<Xattr> xattrs;  // sorted by name, names unique

  bool operator==(const Entry&) const = default;
};

// Value of the xattr `name`, or nullptr.
const Xattr* FindXattr(const Entry& entry, std::string_view name);

}  // namespace imab
