// GrubBootloader: the slots as GRUB's boot script sees them, through the
// grubenv variables RAUC's GRUB scripts read (manifests/boot/grub.cfg):
// ORDER="A B" (the order to try), and per slot X_OK (1: may boot) and
// X_TRY (1: tried once without a mark-good since; the script sets it
// before it boots the slot, so a slot gets one try).
#pragma once

#include <string>

#include "verifier/boot/bootloader.h"
#include "verifier/boot/grubenv.h"

namespace imab::verifier {

class GrubBootloader : public Bootloader {
 public:
  // `grubenv`: the file's real location. Read afresh by every call.
  explicit GrubBootloader(std::string grubenv) : path_(std::move(grubenv)) {}

  const char* Name() const override { return "grub"; }
  // Missing variables read as the snippet's defaults (ORDER="A B",
  // X_OK=0, X_TRY=0); kIo naming the file for a damaged block or a value
  // the script does not use (ORDER other than "A B" / "B A", an X_OK or
  // X_TRY other than 0 or 1).
  Result<SlotId> Primary() const override;
  Result<BootSlotStatus> SlotStatus(SlotId slot) const override;

  // Each rewrites the block once, keeping every other variable and
  // comment. Our five variables go first, right after the signature: once
  // there, a change touches only the first 512 bytes and is written in
  // place (GRUB's save_env writes the file's sectors directly, so the file
  // keeps its sectors and its size; one sector is written whole or not at
  // all). A change reaching past the first sector (moving other variables
  // that fill it) replaces the file instead: a temporary, fsync and
  // rename(2). kIo naming the file on failure.
  Status SetPrimary(SlotId slot) override;
  Status MarkGood(SlotId slot) override;
  Status MarkBad(SlotId slot) override;

 private:
  struct Loaded {
    std::string block;  // as read
    GrubEnv env;
  };
  Result<Loaded> Load() const;
  // Sets `values` (name, value pairs) and writes the block.
  Status Update(const std::vector<std::pair<std::string, std::string>>& values);
  Status Store(const std::string& old_block, const std::string& new_block);

  std::string path_;
};

}  // namespace imab::verifier
