#include "common/read/boot_files.h"

#include <array>
#include <span>
#include <vector>

#include "common/read/path_parts.h"

namespace imab {
namespace {

constexpr std::array<std::string_view, 7> kKernelPrefixes = {
    "vmlinuz", "vmlinux", "bzImage", "Image", "zImage", "uImage", "kernel"};
constexpr std::array<std::string_view, 2> kInitramfsPrefixes = {"initrd",
                                                                "initramfs"};

bool StartsWithAny(std::string_view name,
                   std::span<const std::string_view> prefixes) {
  for (std::string_view prefix : prefixes) {
    if (name.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace

BootFileRole BootFileRoleOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  const bool top_level = slash == std::string_view::npos;
  // Any depth under boot/: boot/efi/..., boot/firmware/... are read by
  // bootloaders too.
  if (!top_level && !path.starts_with("boot/")) {
    return BootFileRole::kNone;
  }
  const std::string_view name = top_level ? path : path.substr(slash + 1);
  // The Boot Loader Spec type 1 layout names the kernel
  // boot/<token>/<kver>/linux (and the initramfs .../initrd).
  if (StartsWithAny(name, kKernelPrefixes) || name == "linux") {
    return BootFileRole::kKernel;
  }
  if (StartsWithAny(name, kInitramfsPrefixes)) {
    return BootFileRole::kInitramfs;
  }
  return BootFileRole::kNone;
}

std::string ResolveImageLink(std::string_view link_path,
                             std::string_view target) {
  std::string base;
  if (!target.empty() && target.front() == '/') {
    base = std::string(target.substr(1));
  } else {
    const size_t slash = link_path.rfind('/');
    base = (slash == std::string_view::npos
                ? std::string()
                : std::string(link_path.substr(0, slash + 1))) +
           std::string(target);
  }
  std::vector<std::string> parts;
  for (std::string& part : SplitOn(base, '/')) {
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
  }
  return JoinPath(parts);
}

}  // namespace imab
