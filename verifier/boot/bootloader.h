// Bootloader: what a device's boot loader knows about the two slots, which
// one it starts first and whether each may be started, through the
// variables its own boot script reads (grubenv, U-Boot's environment, or a
// device maker's script; manifests/device.conf.md, "Bootloader"). The
// install transaction and the boot-confirmation commands talk only to this
// interface; the backends are in verifier/boot/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

// One slot as the boot loader sees it.
struct BootSlotStatus {
  // The boot script may start it (grub: X_OK=1 and X_TRY=0; uboot:
  // BOOT_X_LEFT > 0; custom: get-state says good).
  bool bootable = false;
  // Confirmed by a mark-good since it was last made primary (grub: X_OK=1
  // and X_TRY=0 once booted; uboot: BOOT_X_LEFT back at boot-attempts);
  // nullopt when the boot loader cannot tell (custom).
  std::optional<bool> confirmed;
  // Starts the boot script still gives it (grub: 1 - X_TRY while X_OK=1,
  // else 0; uboot: BOOT_X_LEFT); nullopt when unknown (custom).
  std::optional<uint32_t> attempts_left;
};

class Bootloader {
 public:
  virtual ~Bootloader() = default;

  // "grub", "uboot", "custom".
  virtual const char* Name() const = 0;

  // The slot the boot script tries first (the first of its order,
  // bootable or not). kIo when the variables cannot be read or are
  // damaged.
  virtual Result<SlotId> Primary() const = 0;

  virtual Result<BootSlotStatus> SlotStatus(SlotId slot) const = 0;

  // Puts `slot` first in the order with fresh attempts (grub: ORDER="X Y",
  // X_OK=1, X_TRY=0; uboot: BOOT_ORDER="X Y", BOOT_X_LEFT=boot-attempts;
  // custom: set-primary X). One durable write: after a crash either the old
  // order or the new one is in force.
  virtual Status SetPrimary(SlotId slot) = 0;

  // The running `slot` came up (grub: X_OK=1, X_TRY=0; uboot:
  // BOOT_X_LEFT=boot-attempts; custom: set-state X good). Durable.
  virtual Status MarkGood(SlotId slot) = 0;

  // The boot script must never start `slot` (grub: X_OK=0, X_TRY=0; uboot:
  // BOOT_X_LEFT=0; custom: set-state X bad). Durable; the order is kept.
  virtual Status MarkBad(SlotId slot) = 0;
};

// The boot loader `config.boot` names, its files resolved beneath ROOT;
// nullptr for bootloader = none. kInvalidArgument when a file it needs
// (grubenv, fw-env-config, bootloader-script) is missing or unreadable.
Result<std::unique_ptr<Bootloader>> OpenBootloader(const DeviceConfig& config);

}  // namespace imab::verifier
