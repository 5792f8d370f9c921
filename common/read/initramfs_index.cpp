#include "common/read/initramfs_index.h"

#include <sys/stat.h>

namespace imab {
namespace {

constexpr size_t kMaxSymlinkHops = 8;

}  // namespace

// "./etc/keys/x" and "/etc/keys/x" both name etc/keys/x; "." is the root.
std::string NormalizeInitramfsName(std::string_view name) {
  std::vector<std::string_view> parts;
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view()
                                           : name.substr(slash + 1);
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) {
      out += '/';
    }
    out += part;
  }
  return out;
}

std::vector<uint8_t> MemberIndex::HardlinkData(const Location& l) const {
  const CpioMember& m = At(l);
  if (!m.data.empty() || m.nlink < 2) {
    return m.data;
  }
  // newc stores a hard-linked file's data with one link of the group only.
  for (const CpioMember& other :
       segments_[l.segment].archives[l.archive].members) {
    if (other.ino == m.ino && other.devmajor == m.devmajor &&
        other.devminor == m.devminor && !other.data.empty()) {
      return other.data;
    }
  }
  return m.data;
}

Result<std::optional<std::vector<uint8_t>>> MemberIndex::Resolve(
    std::string_view name) const {
  std::string path(name);
  for (size_t hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    std::optional<Location> l = Find(path);
    if (!l.has_value()) {
      if (hop == 0) {
        return std::optional<std::vector<uint8_t>>();
      }
      return MakeError(ErrorCode::kMalformed,
                       "initramfs: " + std::string(name) +
                           " is a symlink to '" + path +
                           "', which is not in the image");
    }
    const CpioMember& m = At(*l);
    if (S_ISREG(m.mode)) {
      return std::optional<std::vector<uint8_t>>(HardlinkData(*l));
    }
    if (!S_ISLNK(m.mode)) {
      return MakeError(
          ErrorCode::kMalformed,
          "initramfs: " + path + " is not a regular file or symlink");
    }
    std::string target(m.data.begin(), m.data.end());
    std::string dir = path.substr(0, path.rfind('/') + 1);
    path =
        NormalizeInitramfsName(target.starts_with('/') ? target : dir + target);
  }
  return MakeError(ErrorCode::kMalformed, "initramfs: " + std::string(name) +
                                              ": too many symlink hops");
}

}  // namespace imab
