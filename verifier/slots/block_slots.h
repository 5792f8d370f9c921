// BlockSlots: the A/B slot backend for devices whose images are two
// partitions, each a fresh ext4 per install. The slot states, the
// `active` pointer, the install lock and the last result live in
// state-dir, on a file system both slots mount (manifests/device.conf.md,
// "Slots").
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/slots/partition_lookup.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

class Bootloader;

// A writer decorator (tests only): wraps the sink that writes the slot,
// so that a test can make it write less than the manifest says and see
// the read-back catch it.
using SlotWriterWrapper =
    std::function<std::unique_ptr<EntrySink>(std::unique_ptr<EntrySink>)>;

class BlockSlots : public SlotBackend {
 public:
  // Creates the layout in `state_dir` (made if missing): the empty mount
  // folders slot-a/ and slot-b/, no state files, and `active` naming
  // `active`. kInvalidArgument when it already has a pointer; kIo on a
  // failed write.
  static Status Create(const std::string& state_dir, SlotId active);

  // Opens the layout in `state_dir` (the real folder) over the partitions
  // `a` and `b`. `bootloader` is borrowed and may be null. kInvalidArgument
  // ("slots not initialised: ...") without a pointer, or when state-dir
  // lies on one of the slot partitions.
  static Result<std::unique_ptr<BlockSlots>> Open(const std::string& state_dir,
                                                  Partition a, Partition b,
                                                  Bootloader* bootloader);
  // The same for `config` (slots = block): state-dir resolved beneath ROOT,
  // slot-a and slot-b looked up (LookUpPartition). A partition not found
  // still opens (for `status`): CheckConsistency() lists it and every
  // write (OpenInactiveForWrite, SetActive) refuses with its error.
  static Result<std::unique_ptr<BlockSlots>> Open(const DeviceConfig& config,
                                                  Bootloader* bootloader);

  Status CleanUp() override;
  Result<SlotId> ActiveSlot() const override;
  Result<std::optional<DeviceState>> ReadState(SlotId slot) const override;
  Result<std::unique_ptr<EntrySink>> OpenInactiveForWrite(
      Reporter& reporter) override;
  Status Activate(const DeviceState& next) override;
  std::vector<std::string> CheckConsistency() const override;
  std::vector<std::string> PendingCleanUp() const override;
  Status SetActive(SlotId slot) override;
  const std::string& StateDir() const override { return dir_; }
  size_t ImagePathReserve() const override;
  Status RewriteState(SlotId slot, const DeviceState& state) override;

  const Partition& PartitionOf(SlotId slot) const {
    return slot == SlotId::kA ? a_ : b_;
  }
  // STATE/slot-a.state or STATE/slot-b.state.
  std::string StatePath(SlotId slot) const;
  // STATE/slot-a or STATE/slot-b: an empty folder, over which the slot is
  // mounted (read-only, privately) for its read-back.
  std::string MountFolder(SlotId slot) const;
  // mkfs.ext4 options (device.conf mkfs-options).
  void SetMkfsOptions(std::vector<std::string> options) {
    mkfs_options_ = std::move(options);
  }
  const std::vector<std::string>& mkfs_options() const { return mkfs_options_; }
  void WrapWriterForTest(SlotWriterWrapper wrap) { wrap_ = std::move(wrap); }
  const SlotWriterWrapper& writer_wrapper() const { return wrap_; }
  Bootloader* bootloader() const { return bootloader_; }

  // The sink's steps (verifier/slots/block_sink.h).
  // Drops the record of the inactive `slot`, durably. kInternal when
  // `slot` is active.
  Status DropState(SlotId slot);
  // The sink committed and read back an image in `slot`.
  void MarkWritten(SlotId slot) { written_ = slot; }

 private:
  BlockSlots(std::string dir, Partition a, Partition b, Bootloader* bootloader)
      : dir_(std::move(dir)),
        a_(std::move(a)),
        b_(std::move(b)),
        bootloader_(bootloader) {}
  std::vector<std::string> LeftoverNames() const;
  Status CheckPartitionsFound() const;
  Status WritePointer(SlotId slot);

  std::string dir_;
  Partition a_;
  Partition b_;
  Bootloader* bootloader_;
  std::vector<std::string> mkfs_options_;
  SlotWriterWrapper wrap_;
  std::optional<SlotId> written_;  // committed by a sink of this object
  std::vector<std::string> lookup_problems_;  // slots not found
};

// kInvalidArgument "state-dir DIR is on slot partition PATH (...)" when the
// file system of the folder `state_dir` is one of the slot partitions.
Status CheckStateDirOffSlots(const std::string& state_dir, const Partition& a,
                             const Partition& b);

// "a\n" / "b\n": the content of STATE/active.
inline constexpr size_t kMaxPointerBytes = 16;

}  // namespace imab::verifier
