// Finding files in a parsed initramfs the way the kernel unpacks it: names
// normalized, the last member of a name wins, symlinks followed inside the
// image, hard links share their data.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/read/initramfs.h"
#include "common/read/result.h"

namespace imab {

inline constexpr std::string_view kInitramfsEvmKeyPath =
    "etc/keys/x509_evm.der";
inline constexpr std::string_view kInitramfsImaKeyPath =
    "etc/keys/x509_ima.der";

// "./etc/keys/x" and "/etc/keys/x" both name etc/keys/x; "." is the root.
std::string NormalizeInitramfsName(std::string_view name);

struct Location {
  size_t segment = 0;
  size_t archive = 0;
  size_t member = 0;
};

// The last member with each normalized name, as the kernel would leave it.
// Borrows `segments`, which must outlive the index.
class MemberIndex {
 public:
  explicit MemberIndex(const std::vector<InitramfsSegment>& segments)
      : segments_(segments) {
    for (size_t s = 0; s < segments.size(); ++s) {
      for (size_t a = 0; a < segments[s].archives.size(); ++a) {
        const auto& members = segments[s].archives[a].members;
        for (size_t m = 0; m < members.size(); ++m) {
          Put(NormalizeInitramfsName(members[m].name), Location{s, a, m});
        }
      }
    }
  }

  std::optional<Location> Find(std::string_view name) const {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->first == name) {
        return it->second;
      }
    }
    return std::nullopt;
  }

  const CpioMember& At(const Location& l) const {
    return segments_[l.segment].archives[l.archive].members[l.member];
  }

  // Content of the regular file `name` names, following symlinks inside the
  // image; nullopt when the name does not exist.
  Result<std::optional<std::vector<uint8_t>>> Resolve(
      std::string_view name) const;

 private:
  void Put(std::string name, Location l) {
    entries_.emplace_back(std::move(name), l);
  }
  std::vector<uint8_t> HardlinkData(const Location& l) const;

  const std::vector<InitramfsSegment>& segments_;
  std::vector<std::pair<std::string, Location>> entries_;
};

}  // namespace imab
