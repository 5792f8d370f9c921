#include "common/read/entry.h"

namespace imab {

std::string_view EntryTypeName(EntryType type) {
  switch (type) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDir:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kHardlink:
      return "hardlink";
    case EntryType::kChar:
      return "char";
    case EntryType::kBlock:
      return "block";
    case EntryType::kFifo:
      return "fifo";
  }
  return "file";
}

std::optional<EntryType> EntryTypeFromName(std::string_view name) {
  for (EntryType t : {EntryType::kFile, EntryType::kDir, EntryType::kSymlink,
                      EntryType::kHardlink, EntryType::kChar, EntryType::kBlock,
                      EntryType::kFifo}) {
    if (EntryTypeName(t) == name) {
      return t;
    }
  }
  return std::nullopt;
}

const Xattr* FindXattr(const Entry& entry, std::string_view name) {
  for (const Xattr& x : entry.xattrs) {
    if (x.name == name) {
      return &x;
    }
  }
  return nullptr;
}

}  // namespace imab
