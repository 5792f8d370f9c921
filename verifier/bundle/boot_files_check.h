// BootFilesCheck: in the streaming pass, makes sure the boot chain the
// trust decision reasoned about is the one the device will boot
// (FORMAT.md §3.3.7). Every file a bootloader could load as an initramfs
// must be one the manifest declares (InitramfsCheck checks its keys); so
// must every file a bootloader could start as a kernel, and each declared
// kernel must carry every kernel CA of the section and the version it is
// declared with. The builder's word is
// not taken: the CAs are found again in the kernel's bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/read/boot_files.h"
#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/trust/critical_closure.h"

namespace imab::verifier {

class BootFilesCheck {
 public:
  // `header` is borrowed and must outlive the check.
  explicit BootFilesCheck(const ManifestHeader& header) : header_(header) {}

  // Refuses `entry` when a bootloader could use it and the manifest does
  // not declare it (kBadSignature naming it); starts capturing a declared
  // kernel (a kFile of at most kMaxKernelBytes, else kMalformed /
  // kLimitExceeded).
  Status Begin(const Entry& entry);
  void Feed(std::span<const uint8_t> data);
  // After the content matched its digest: scans a captured kernel.
  // kBadSignature naming the kernel and the CA it lacks, or a banner
  // other than the declared version.
  Status End(const Entry& entry);
  // After the last entry: every declared kernel was in the payload, and
  // no `boot` folder or folder below boot/ is a symlink to a folder.
  Status Finish() const;

 private:
  Status CheckCandidate(const Entry& entry) const;
  const KernelRecord* FindKernel(const std::string& path) const;
  bool DeclaresInitramfs(const std::string& path) const;

  const ManifestHeader& header_;
  const KernelRecord* current_ = nullptr;
  std::vector<uint8_t> image_;
  std::vector<std::string> kernels_seen_;
  // Folders and symlinks, to see where the symlinks at or below boot/
  // lead: a bootloader follows a symlinked folder, and the files it holds
  // would escape the name rule (FORMAT.md §3.3.7).
  CriticalClosure tree_{{}, ""};
  std::vector<std::string> boot_links_;
};

}  // namespace imab::verifier
