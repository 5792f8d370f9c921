// UbootBootloader: the slots as a U-Boot boot script sees them
// (manifests/boot/boot.cmd), through the environment variables
// BOOT_ORDER="A B" (the order to try) and BOOT_A_LEFT / BOOT_B_LEFT (the
// starts a slot has left; the script takes one before each start and a
// mark-good gives them back). Values are hex digits without 0x, as U-Boot's
// setexpr reads and writes them (the same as decimal up to 9).
//
// Reads go through our own reader of the environment (uboot_env.h);
// writes through one `fw_setenv -c CONFIG -s -` (libubootenv-tool), which
// knows every device U-Boot keeps its environment on (MTD erase blocks,
// NAND bad blocks, eMMC boot partitions' force_ro) and the redundant
// copies' flag protocol, so a crash leaves the old copy or the new one.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "verifier/boot/bootloader.h"
#include "verifier/boot/uboot_env.h"
#include "verifier/boot/uboot_env_config.h"

namespace imab::verifier {

class UbootBootloader : public Bootloader {
 public:
  // `config_path`: fw_env.config's real location, as parsed into `config`;
  // `attempts`: boot-attempts.
  UbootBootloader(std::string config_path, UbootEnvConfig config,
                  uint32_t attempts)
      : config_path_(std::move(config_path)),
        config_(std::move(config)),
        attempts_(attempts) {}

  const char* Name() const override { return "uboot"; }
  // A missing BOOT_ORDER reads as "A B" and a missing BOOT_X_LEFT as
  // boot-attempts, as the documented boot script sets them. kIo naming the
  // device for an unreadable or damaged environment (no good CRC, a
  // damaged copy) or values the script does not use.
  Result<SlotId> Primary() const override;
  // bootable: BOOT_X_LEFT > 0; confirmed: BOOT_X_LEFT = boot-attempts.
  Result<BootSlotStatus> SlotStatus(SlotId slot) const override;
  // Each checks the environment reads, runs fw_setenv (found in the
  // standard folders; only writes need it) once for all its variables and
  // reads them back. kIo naming the step on failure.
  Status SetPrimary(SlotId slot) override;
  Status MarkGood(SlotId slot) override;
  Status MarkBad(SlotId slot) override;

 private:
  Result<UbootVariables> Load() const;
  Status Update(const UbootVariables& values);

  std::string config_path_;
  UbootEnvConfig config_;
  uint32_t attempts_;
};

// Opens, for OpenBootloader: reads and parses the fw_env.config at
// `config_path` (real location; `shown` names it in messages).
// kInvalidArgument naming what is wrong.
Result<std::unique_ptr<Bootloader>> OpenUbootBootloader(
    const std::string& config_path, const std::string& shown,
    uint32_t attempts);

}  // namespace imab::verifier
