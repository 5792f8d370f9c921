// SlotBackend: where an A/B device keeps its two images, which one is
// active, and the state recorded with each. The install transaction talks
// only to this interface, so a block-device backend can follow the
// directory one (verifier/slots/directory_slots.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/device/device_state.h"

namespace imab::verifier {

enum class SlotId { kA, kB };

// "a" or "b", as DeviceState::active_slot spells it.
const char* SlotName(SlotId slot);
SlotId OtherSlot(SlotId slot);

// With a boot loader (verifier/boot/bootloader.h) a backend keeps this
// order, so that a crash anywhere leaves a slot the boot loader may start
// complete: the sink's Start() first marks the inactive slot bad
// (Bootloader::MarkBad) before erasing anything, and Activate() writes
// the new slot's state, then makes it primary (SetPrimary), then switches
// the pointer.
class SlotBackend {
 public:
  virtual ~SlotBackend() = default;

  // Removes what an interrupted install left behind (partial writes, staging
  // areas, temporaries, an inactive slot whose image was never completed).
  // Never touches the active slot or its state. The caller holds the install
  // lock. kIo when something cannot be removed.
  virtual Status CleanUp() = 0;

  // The slot the device boots and runs. kIo when the pointer is missing or
  // damaged (the device is then not in a state any install may change).
  virtual Result<SlotId> ActiveSlot() const = 0;

  // The state recorded for `slot`: nullopt when the slot holds no complete
  // image (empty, or never finished). kIo when the record is damaged.
  virtual Result<std::optional<DeviceState>> ReadState(SlotId slot) const = 0;

  // A sink (owned by the caller; must not outlive this backend) that writes
  // a new image into the inactive slot. Its Start() drops the slot's state
  // record (from then on the slot counts as empty) and erases the old
  // image, so a bundle refused before Start() leaves the slot as it was.
  // Its Commit() makes the image complete and durable but does not
  // activate it; its Abort() removes everything it wrote. The active slot
  // is never written.
  virtual Result<std::unique_ptr<EntrySink>> OpenInactiveForWrite(
      Reporter& reporter) = 0;

  // Records `next` (its active_slot is ignored and set to the inactive
  // slot's name) as the state of the inactive slot, whose image the sink
  // committed, and makes that slot active in one atomic step: before the
  // step the old slot and state are in force, after it the new ones, never
  // a mix. kInvalidArgument when the inactive slot holds no committed
  // image; kIo on a failed write (the old slot then stays active).
  virtual Status Activate(const DeviceState& next) = 0;

  // Every disagreement between the pointer, the state records and the slot
  // contents, one line each; empty when consistent. Leftovers of an
  // interrupted install are not disagreements (see PendingCleanUp).
  virtual std::vector<std::string> CheckConsistency() const = 0;

  // What CleanUp() would remove, one line each; empty when nothing.
  virtual std::vector<std::string> PendingCleanUp() const = 0;

  // Makes `slot` the active one without writing an image or a state (a
  // fallback the boot loader took, `mark-active`): one atomic pointer
  // switch. kInvalidArgument when `slot` holds no complete image (no
  // state record); a no-op when it is active already. The boot loader is
  // the caller's affair.
  virtual Status SetActive(SlotId slot) = 0;

  // Replaces the record of `slot`, which holds a complete image, with
  // `state` (its active_slot must name `slot`), atomically: mark-good
  // setting confirmed_at. Never touches an image or the pointer.
  // kInvalidArgument when the slot has no record; kInternal for a backend
  // that cannot (the base).
  virtual Status RewriteState(SlotId slot, const DeviceState& state);

  // The real folder of the install lock, last-result and the slot states
  // (slots-dir for directory slots, state-dir for block slots).
  virtual const std::string& StateDir() const = 0;

  // Bytes the image writer puts before each image path
  // (writable_entries.h), for the check that every record can be written.
  virtual size_t ImagePathReserve() const = 0;

  // Convenience over the virtuals.
  Result<SlotId> InactiveSlot() const;
  // The device state: the active slot's record, or, when the active slot
  // holds nothing yet, an empty DeviceState (slot and version "", floors
  // 0).
  Result<DeviceState> ActiveState() const;
};

}  // namespace imab::verifier
