// ImageTree: the rules every entry path obeys, and the record of which paths
// an image has so far, so each new entry can be admitted or refused
// (FORMAT.md §3.5). Both the builder and the verifier use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/read/entry.h"
#include "common/read/result.h"

namespace imab {

// A path is canonical when it is relative, non-empty, at most kMaxPathBytes,
// made of components separated by single '/', none empty, ".", ".." or longer
// than kMaxPathComponentBytes, with no NUL byte and no trailing '/'.
// On failure: kMalformed naming the rule broken.
Status CheckCanonicalPath(std::string_view path);

// Parent of a canonical path ("" for a top-level name).
std::string_view ParentPath(std::string_view path);

class ImageTree {
 public:
  // Admits `entry` when: its path is canonical; no earlier entry has the same
  // path; its parent is "" or an earlier kDir entry (so no path passes
  // through a symlink or a file); a kHardlink names an earlier kFile; a
  // kSymlink target is non-empty and at most kMaxPathBytes. On failure:
  // kMalformed naming the path and the rule, and nothing is recorded.
  Status Admit(const Entry& entry);

  // What the tree remembers of an admitted path: enough to resolve a
  // hardlink's shared inode metadata.
  struct Node {
    EntryType type;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
  };

  // Type of an admitted path, or nullptr.
  const EntryType* Find(std::string_view path) const;
  // Node of an admitted path, or nullptr.
  const Node* FindNode(std::string_view path) const;
  size_t size() const { return nodes_.size(); }

 private:
  std::unordered_map<std::string, Node> nodes_;
};

}  // namespace imab
