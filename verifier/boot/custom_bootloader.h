// CustomBootloader: a device maker's own boot loader glue, a program
// (bootloader-script) that answers four commands (manifests/device.conf.md,
// "Bootloader", custom):
//   SCRIPT get-primary            prints a or b
//   SCRIPT set-primary a|b
//   SCRIPT get-state a|b          prints good or bad
//   SCRIPT set-state a|b good|bad
// Each exits 0 on success; a set-* returns once the change is durable.
#pragma once

#include <string>
#include <vector>

#include "verifier/boot/bootloader.h"

namespace imab::verifier {

class CustomBootloader : public Bootloader {
 public:
  // `script`: the program's real location (absolute), started with
  // posix_spawn, never through a shell.
  explicit CustomBootloader(std::string script) : script_(std::move(script)) {}

  const char* Name() const override { return "custom"; }
  // kIo naming the script and the command when it fails (non-zero exit,
  // killed, more than a few KiB printed) or prints anything but the
  // expected word and an optional newline.
  Result<SlotId> Primary() const override;
  // bootable: get-state says good; confirmed and attempts_left unknown.
  Result<BootSlotStatus> SlotStatus(SlotId slot) const override;
  Status SetPrimary(SlotId slot) override;
  Status MarkGood(SlotId slot) override;
  Status MarkBad(SlotId slot) override;

 private:
  // Runs the script with `arguments`; its stdout when it exits 0.
  Result<std::string> Run(const std::vector<std::string>& arguments) const;
  // Run(), its output one of `words` (a trailing newline allowed): which.
  Result<size_t> RunForWord(const std::vector<std::string>& arguments,
                            const std::vector<std::string>& words) const;

  std::string script_;
};

}  // namespace imab::verifier
