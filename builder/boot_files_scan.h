// BootFilesScan: while the build reads the rootfs, finds every file a
// bootloader could start as a kernel or load as an initramfs
// (common/read/boot_files.h, the rule the verifier applies too) and looks for
// each --kernel-ca inside every kernel (common/read/kernel_image.h). At the end
// it yields the `kernel` lines of section keys (FORMAT.md §3.3.3) or
// refuses the build: a kernel that lacks a declared CA, or an initramfs
// the build does not declare, would make every device refuse (or worse,
// brick on) the bundle.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "common/read/manifest.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab::builder {

class BootFilesScan {
 public:
  // `kernel_ca_ders`: the --kernel-ca certificates, DER.
  explicit BootFilesScan(std::vector<std::string> kernel_ca_ders);
  ~BootFilesScan();

  // `inner` with every kernel candidate's content captured as it is read
  // (bounded by kMaxKernelBytes). `this` must outlive the source.
  std::unique_ptr<RootfsSource> Wrap(std::unique_ptr<RootfsSource> inner);

  // After the last entry. `declared_initramfs`: the initramfs paths section
  // keys declares; `declares_boot_chain`: the bundle is for IMA devices.
  // kInvalidArgument naming the file: an initramfs candidate not declared;
  // a kernel candidate when there are no kernel CAs, or one lacking one of
  // them, without a version banner, or a link to a file that is not a
  // checked kernel. No kernel at all with kernel CAs is a warning (the
  // devices' own kernels stand).
  Result<std::vector<KernelRecord>> Finish(
      const std::vector<std::string>& declared_initramfs,
      bool declares_boot_chain, Reporter& reporter) const;

  // Called by the wrapping source.
  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace imab::builder
