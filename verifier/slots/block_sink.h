// BlockSlotSink: writes a new image onto the inactive partition of
// BlockSlots. Start() marks the slot bad in the boot loader, drops its
// state, makes a fresh ext4 and mounts it privately; the entries go
// through DirectorySink; Commit() syncs, unmounts, mounts read-only and
// reads every entry back against the manifest (ReadBackImage) before the
// image counts as complete.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/read/reporter.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/slots/block_slots.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier {

class BlockSlotSink : public EntrySink {
 public:
  // `slots` and `reporter` are borrowed; `slot` is the inactive slot.
  BlockSlotSink(BlockSlots& slots, SlotId slot, Reporter& reporter)
      : slots_(slots), slot_(slot), reporter_(reporter) {}
  ~BlockSlotSink() override;

  Status Start(const ManifestHeader& header) override;
  Status Begin(const Entry& entry) override;
  Status Content(std::span<const uint8_t> data) override;
  Status End(const Entry& entry) override;
  Status Commit() override;
  void Abort() override;

 private:
  // "slot b (/dev/sda3)", for messages.
  std::string Describe() const;
  Status Erase();
  Status OpenWriter(const ManifestHeader& header);
  Status ReadBack();
  void UnmountAll();

  BlockSlots& slots_;
  SlotId slot_;
  Reporter& reporter_;
  DirectorySink* directory_ = nullptr;  // inside writer_
  std::unique_ptr<EntrySink> writer_;
  std::string staging_;         // where the slot is mounted for writing
  bool mounted_rw_ = false;     // at staging_
  bool mounted_ro_ = false;     // at the mount folder
  std::vector<Entry> entries_;  // what was written, to read back
  bool done_ = false;
};

}  // namespace imab::verifier
