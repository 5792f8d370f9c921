// A TestDevice on block slots: a GPT loop disk with slots a and b, grub
// as the boot loader (ROOT/boot/grub/grubenv), state in ROOT/data, and
// the helpers the block install and crash tests share (the slots as
// mounted read-only, the boot order, the partitions' digests).
#pragma once

#include <optional>
#include <string>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/loop_device.h"

namespace imab::testing {

class BlockTestDevice {
 public:
  // `dir` holds the disk image; `device` is borrowed.
  BlockTestDevice(const std::string& dir, const TestDevice& device)
      : dir_(dir), device_(device) {}

  // Attaches the disk (slots of `slot_mib` MiB each); the reason to skip
  // when it cannot.
  std::optional<std::string> Attach(unsigned slot_mib);
  // `device init` with slots = block on the disk and an empty grubenv.
  CommandResult Init() const;
  // The --set flags Init() uses.
  std::string Settings() const;

  std::string StateDir() const { return device_.root() + "/data/imabundle"; }
  // "a" or "b" from STATE/active ("" when unreadable).
  std::string Active() const;
  // STATE/slot-X.state ("" when absent).
  std::string State(const std::string& slot) const;
  // The first slot of grubenv's ORDER ("a" without one).
  std::string Primary() const;
  // SHA-256 (hex) of the whole partition of `slot`.
  std::string PartitionDigest(const std::string& slot) const;
  // Differences between `image` and the slot's file system, mounted
  // read-only in this process's private mount namespace.
  std::vector<std::string> CompareSlot(const std::string& slot,
                                       const std::string& image) const;
  const LoopDisk& disk() const { return disk_; }
  std::string Partition(const std::string& slot) const {
    return disk_.Partition(slot == "a" ? 1 : 2);
  }

 private:
  std::string dir_;
  const TestDevice& device_;
  LoopDisk disk_;
  std::string label_;
};

}  // namespace imab::testing
