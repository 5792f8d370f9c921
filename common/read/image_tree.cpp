#include "common/read/image_tree.h"

#include "common/read/limits.h"
#include "common/read/printable.h"

namespace imab {
namespace {

Error Bad(std::string_view path, const std::string& why) {
  return MakeError(ErrorCode::kMalformed,
                   "path '" + Printable(path) + "': " + why);
}

}  // namespace

Status CheckCanonicalPath(std::string_view path) {
  if (path.empty()) {
    return Bad(path, "empty");
  }
  if (path.size() > kMaxPathBytes) {
    return MakeError(
        ErrorCode::kLimitExceeded,
        "path longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (path.front() == '/') {
    return Bad(path, "absolute");
  }
  if (path.find('\0') != std::string_view::npos) {
    return Bad(path, "contains a NUL byte");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) {
      return Bad(path, "empty component (\"//\" or trailing '/')");
    }
    if (part == "." || part == "..") {
      // ".." would let an entry escape the target folder.
      return Bad(path, "contains '" + Printable(part) + "'");
    }
    if (part.size() > kMaxPathComponentBytes) {
      return MakeError(
          ErrorCode::kLimitExceeded,
          "path '" + Printable(path) + "': component longer than 255 bytes");
    }
    start = end + 1;
  }
  return OkStatus();
}

std::string_view ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view()
                                         : path.substr(0, slash);
}

Status ImageTree::Admit(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(CheckCanonicalPath(entry.path));
  if (nodes_.count(entry.path) != 0) {
    return Bad(entry.path, "duplicate entry");
  }
  std::string_view parent = ParentPath(entry.path);
  if (!parent.empty()) {
    const EntryType* parent_type = Find(parent);
    if (parent_type == nullptr) {
      return Bad(entry.path, "parent folder is not an earlier entry");
    }
    if (*parent_type != EntryType::kDir) {
      // Writing below a symlink would let the image redirect writes
      // anywhere on the device.
      return Bad(entry.path, "parent '" + Printable(parent) + "' is a " +
                                 std::string(EntryTypeName(*parent_type)) +
                                 ", not a folder");
    }
  }
  if (entry.type == EntryType::kHardlink) {
    IMAB_RETURN_IF_ERROR(CheckCanonicalPath(entry.link_target));
    const EntryType* target = Find(entry.link_target);
    if (target == nullptr || *target != EntryType::kFile) {
      return Bad(entry.path, "hardlink target '" +
                                 Printable(entry.link_target) +
                                 "' is not an earlier regular file");
    }
  }
  if (entry.type == EntryType::kSymlink) {
    if (entry.link_target.empty() || entry.link_target.size() > kMaxPathBytes ||
        entry.link_target.find('\0') != std::string::npos) {
      return Bad(entry.path, "symlink target empty, too long or has NUL");
    }
  }
  nodes_.emplace(entry.path,
                 Node{entry.type, entry.mode, entry.uid, entry.gid});
  return OkStatus();
}

const EntryType* ImageTree::Find(std::string_view path) const {
  const Node* node = FindNode(path);
  return node == nullptr ? nullptr : &node->type;
}

const ImageTree::Node* ImageTree::FindNode(std::string_view path) const {
  auto it = nodes_.find(std::string(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace imab
