#include "common/read/kernel_profile.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace imab {
namespace {

struct BaseProfile {
  std::string_view name;
  int word_bits;
  bool big_endian;
};

constexpr std::array<BaseProfile, 4> kBases = {{
    {"le64", 64, false},
    {"le32", 32, false},
    {"be64", 64, true},
    {"be32", 32, true},
}};

Error Invalid(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "kernel profile: " + what);
}

// Index of `name` in AllEvmXattrs(), or npos.
size_t EvmXattrIndex(std::string_view name) {
  const std::vector<std::string>& all = AllEvmXattrs();
  auto it = std::find(all.begin(), all.end(), name);
  return it == all.end() ? std::string::npos
                         : static_cast<size_t>(it - all.begin());
}

// Parses "a,b,c" into a subsequence of AllEvmXattrs() that contains
// security.ima, the only lists a kernel can have.
Result<std::vector<std::string>> ParseXattrList(std::string_view list) {
  std::vector<std::string> out;
  size_t last_index = std::string::npos;
  for (;;) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    if (name.empty()) {
      return Invalid("empty xattr name in list");
    }
    size_t index = EvmXattrIndex(name);
    if (index == std::string::npos) {
      return Invalid("xattr '" + std::string(name) +
                     "' is not protected by EVM");
    }
    // The kernel hashes in its fixed order; another order (or a repeat)
    // would describe a digest no kernel computes.
    if (last_index != std::string::npos && index <= last_index) {
      return Invalid("xattr '" + std::string(name) +
                     "' out of kernel order (or repeated)");
    }
    last_index = index;
    out.emplace_back(name);
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  // Portable EVM signatures require security.ima (§4.1).
  if (std::find(out.begin(), out.end(), "security.ima") == out.end()) {
    return Invalid("xattr list must include security.ima");
  }
  return out;
}

}  // namespace

Result<KernelProfile> ParseKernelProfile(std::string_view text) {
  size_t colon = text.find(':');
  std::string_view base = text.substr(0, colon);
  auto it = std::find_if(kBases.begin(), kBases.end(),
                         [&](const BaseProfile& b) { return b.name == base; });
  if (it == kBases.end()) {
    return Invalid("unknown name '" + std::string(base) +
                   "' (expected le64, le32, be64 or be32, optionally "
                   "followed by :xattr,xattr,...)");
  }
  KernelProfile profile;
  profile.word_bits = it->word_bits;
  profile.big_endian = it->big_endian;
  if (colon == std::string_view::npos) {
    return profile;
  }
  IMAB_ASSIGN_OR_RETURN(profile.evm_xattrs,
                        ParseXattrList(text.substr(colon + 1)));
  return profile;
}

std::string KernelProfileName(const KernelProfile& profile) {
  std::string name = profile.big_endian ? "be" : "le";
  name += profile.word_bits == 32 ? "32" : "64";
  if (profile.evm_xattrs == AllEvmXattrs()) {
    return name;
  }
  name += ':';
  for (size_t i = 0; i < profile.evm_xattrs.size(); ++i) {
    if (i > 0) {
      name += ',';
    }
    name += profile.evm_xattrs[i];
  }
  return name;
}

}  // namespace imab
