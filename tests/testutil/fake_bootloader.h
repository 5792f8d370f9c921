// FakeBootloader: a Bootloader in memory for unit tests, with the grub
// backend's semantics (an order, and per slot OK and TRY), a log of every
// call, and a way to play what the boot script does at boot.
#pragma once

#include <string>
#include <vector>

#include "verifier/boot/bootloader.h"

namespace imab::testing {

class FakeBootloader : public verifier::Bootloader {
 public:
  using SlotId = verifier::SlotId;

  const char* Name() const override { return "fake"; }
  Result<SlotId> Primary() const override {
    if (fail_reads) {
      return MakeError(ErrorCode::kIo, "fake: variables damaged");
    }
    return primary;
  }
  Result<verifier::BootSlotStatus> SlotStatus(SlotId slot) const override {
    if (fail_reads) {
      return MakeError(ErrorCode::kIo, "fake: variables damaged");
    }
    const Slot& s = At(slot);
    verifier::BootSlotStatus status;
    status.bootable = s.ok && !s.tried;
    status.confirmed = s.ok && !s.tried && s.confirmed;
    status.attempts_left = status.bootable ? 1 : 0;
    return status;
  }
  Status SetPrimary(SlotId slot) override {
    log.push_back(std::string("set-primary ") + verifier::SlotName(slot));
    primary = slot;
    At(slot) = Slot{true, false, false};
    return OkStatus();
  }
  Status MarkGood(SlotId slot) override {
    log.push_back(std::string("mark-good ") + verifier::SlotName(slot));
    At(slot) = Slot{true, false, true};
    return OkStatus();
  }
  Status MarkBad(SlotId slot) override {
    if (fail_mark_bad) {
      return MakeError(ErrorCode::kIo, "fake: cannot write");
    }
    log.push_back(std::string("mark-bad ") + verifier::SlotName(slot));
    At(slot) = Slot{false, false, false};
    return OkStatus();
  }

  // What the boot script does: the first bootable slot of the order is
  // tried once (TRY=1) and returned; `fails` plays a boot that never
  // reaches mark-good.
  SlotId Boot() {
    SlotId first = primary;
    SlotId chosen =
        SlotStatus(first)->bootable ? first : verifier::OtherSlot(first);
    At(chosen).tried = true;
    return chosen;
  }
  // The boot of `slot` failed: the script moves on (its TRY stays set).
  void FailBoot(SlotId slot) { At(slot).tried = true; }

  struct Slot {
    bool ok = true;
    bool tried = false;
    bool confirmed = true;
  };
  SlotId primary = SlotId::kA;
  Slot a, b;
  bool fail_reads = false;
  bool fail_mark_bad = false;  // MarkBad fails, changing nothing
  std::vector<std::string> log;

 private:
  Slot& At(SlotId slot) { return slot == SlotId::kA ? a : b; }
  const Slot& At(SlotId slot) const { return slot == SlotId::kA ? a : b; }
};

}  // namespace imab::testing
