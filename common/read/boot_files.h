// Which image paths a bootloader could start as a kernel or load as an
// initramfs (FORMAT.md §3.3.7). One definition, shared by the builder
// (which declares every such file) and the verifier (which refuses a bundle
// holding one it does not declare), so the two can never disagree.
#pragma once

#include <string>
#include <string_view>

namespace imab {

enum class BootFileRole { kNone, kKernel, kInitramfs };

// The role of `path` (canonical image path, no leading '/') by name alone:
// a file whose name starts with vmlinuz, vmlinux, bzImage, Image, zImage,
// uImage or kernel, or that is exactly linux (Boot Loader Spec type 1,
// boot/<token>/<kver>/linux), is a kernel, one starting with initrd or
// initramfs an
// initramfs, when it sits at the top level or anywhere under boot/.
// Deliberately wide (fail closed): a bootloader configuration can name any
// such file.
BootFileRole BootFileRoleOf(std::string_view path);

// A symlink's target resolved against the link's folder inside the image
// ("." and ".." resolved, ".." stopping at the image root, as the kernel's
// path walk at "/").
std::string ResolveImageLink(std::string_view link_path,
                             std::string_view target);

}  // namespace imab
