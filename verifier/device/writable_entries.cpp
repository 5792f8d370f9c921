#include "verifier/device/writable_entries.h"

#include <memory>
#include <optional>
#include <string_view>

#include "common/read/image_tree.h"
#include "common/read/manifest_reader.h"
#include "common/read/printable.h"

namespace imab::verifier {
namespace {

// PATH_MAX counts the terminating NUL: a name of 4096 bytes is too long.
constexpr size_t kPathMax = 4096;

Error Unwritable(const Entry& entry, const std::string& why) {
  return MakeError(
      ErrorCode::kMalformed,
      "path '" + Printable(entry.path) + "': an install cannot write " + why);
}

bool IsFileOrFolder(EntryType type) {
  return type == EntryType::kFile || type == EntryType::kDir;
}

// Namespaces setxattr(2) accepts with a name after the prefix.
bool KnownNamespace(std::string_view name) {
  for (std::string_view prefix : {"security.", "trusted.", "user."}) {
    if (name.starts_with(prefix) && name.size() > prefix.size()) {
      return true;
    }
  }
  return name == "system.posix_acl_access" ||
         name == "system.posix_acl_default";
}

Status CheckXattr(const Entry& entry, const std::string& name) {
  const std::string quoted = "xattr '" + Printable(name) + "'";
  if (!KnownNamespace(name)) {
    return Unwritable(entry, quoted + " (not a namespace Linux knows)");
  }
  // The kernel keeps user.* for files and folders (their owner's data).
  if (name.starts_with("user.") && !IsFileOrFolder(entry.type)) {
    return Unwritable(entry, quoted + " on a " +
                                 std::string(EntryTypeName(entry.type)) +
                                 " (Linux allows user.* only on files and "
                                 "folders)");
  }
  if (name == "system.posix_acl_default" && entry.type != EntryType::kDir) {
    return Unwritable(entry, quoted + " (a default ACL needs a folder)");
  }
  return OkStatus();
}

}  // namespace

Status CheckWritable(const Entry& entry, size_t reserve) {
  if (entry.path.size() >= kPathMax ||
      reserve >= kPathMax - entry.path.size()) {
    return Unwritable(entry, "a path of " + std::to_string(entry.path.size()) +
                                 " bytes below a " + std::to_string(reserve) +
                                 "-byte folder (PATH_MAX is 4096)");
  }
  if (entry.type == EntryType::kSymlink &&
      entry.link_target.size() >= kPathMax) {
    return Unwritable(entry, "a symlink target of " +
                                 std::to_string(entry.link_target.size()) +
                                 " bytes (PATH_MAX is 4096)");
  }
  for (const Xattr& x : entry.xattrs) {
    IMAB_RETURN_IF_ERROR(CheckXattr(entry, x.name));
  }
  return OkStatus();
}

Status CheckManifestEntries(ByteSource& manifest, size_t reserve) {
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<ManifestReader> reader,
                        ManifestReader::Open(manifest, 0, manifest.size()));
  ImageTree tree;
  for (uint64_t index = 0;; ++index) {
    IMAB_ASSIGN_OR_RETURN(std::optional<Entry> entry, reader->Next());
    if (!entry.has_value()) {
      return OkStatus();
    }
    Status ok = tree.Admit(*entry);
    if (ok.ok()) {
      ok = CheckWritable(*entry, reserve);
    }
    if (!ok.ok()) {
      return WithContext(std::move(ok).error(),
                         "entry " + std::to_string(index));
    }
  }
}

}  // namespace imab::verifier
