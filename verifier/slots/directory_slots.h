// DirectorySlots: the A/B slot backend for devices whose images are plain
// folders. Two slot folders and one symlink naming the active one, each
// slot's state in a file beside it (manifests/device.conf.md, "Slots").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/read/result.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

class Bootloader;

// Names inside the slots folder.
inline constexpr const char* kActivePointerName = "active";
inline constexpr const char* kLockFileName = "lock";
inline constexpr const char* kLastResultFileName = "last-result";
inline constexpr const char* kAdoptedTrustRootFileName = "trust-root";

// The names in `dir` an interrupted write left (staging folders,
// temporaries); shared with the block backend's state folder.
std::vector<std::string> LeftoverNamesIn(const std::string& dir);

class DirectorySlots : public SlotBackend {
 public:
  // Creates the layout in `dir` (made if missing, with its parents): empty
  // slot-a/ and slot-b/, no state files, and `active` naming `active`'s
  // folder (slot-a normally). kInvalidArgument when `dir` already has a
  // pointer; kIo on a failed write.
  static Status Create(const std::string& dir, SlotId active = SlotId::kA);

  // Opens an existing layout. kInvalidArgument ("slots not initialised:
  // DIR ...") when `dir` has no pointer. The backend keeps the path and
  // `bootloader` (borrowed, may be null), which it tells about a write
  // and a switch in the order SlotBackend describes.
  static Result<std::unique_ptr<DirectorySlots>> Open(
      const std::string& dir, Bootloader* bootloader = nullptr);

  Status CleanUp() override;
  Result<SlotId> ActiveSlot() const override;
  Result<std::optional<DeviceState>> ReadState(SlotId slot) const override;
  Result<std::unique_ptr<EntrySink>> OpenInactiveForWrite(
      Reporter& reporter) override;
  Status Activate(const DeviceState& next) override;
  std::vector<std::string> CheckConsistency() const override;
  std::vector<std::string> PendingCleanUp() const override;
  Status SetActive(SlotId slot) override;
  Status RewriteState(SlotId slot, const DeviceState& state) override;
  const std::string& StateDir() const override { return dir_; }
  size_t ImagePathReserve() const override { return PathReserve(dir_); }

  const std::string& dir() const { return dir_; }
  // DIR/slot-a or DIR/slot-b: the image tree of `slot`.
  std::string SlotPath(SlotId slot) const;
  // Bytes the image writer puts before each image path in a slot of `dir`
  // (the staging folder DIR/slot-X.imab-staging-XXXXXX and '/').
  static size_t PathReserve(const std::string& dir);
  // DIR/slot-a.state or DIR/slot-b.state.
  std::string StatePath(SlotId slot) const;
  // True when the slot folder exists and holds nothing.
  bool SlotIsEmpty(SlotId slot) const;
  // Drops the record of the inactive `slot` and erases its folder, just
  // before a new image, complete and synced beside it, is renamed into its
  // place. kInternal if `slot` is active.
  Status PrepareForWrite(SlotId slot);

 private:
  DirectorySlots(std::string dir, Bootloader* bootloader)
      : dir_(std::move(dir)), bootloader_(bootloader) {}
  // Leftover names in the folder (staging areas, temporaries).
  std::vector<std::string> LeftoverNames() const;
  // True when the inactive slot is a partial image to erase.
  bool InactiveNeedsErasing(SlotId inactive) const;
  Status EraseSlot(SlotId slot);

  std::string dir_;
  Bootloader* bootloader_;
};

}  // namespace imab::verifier
