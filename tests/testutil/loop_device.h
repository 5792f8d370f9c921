// LoopDisk: a GPT disk image with named partitions, attached as a loop
// device with its partitions (/dev/loopNpM), detached at scope end. For
// the block-slot tests; Attach() tells why it cannot run (not root, no
// losetup, no loop devices) so that the test can skip.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace imab::testing {

struct LoopPartitionSpec {
  std::string label;      // GPT partition name ("" for none)
  unsigned size_mib = 0;  // size of the partition
};

class LoopDisk {
 public:
  LoopDisk() = default;
  ~LoopDisk();
  LoopDisk(const LoopDisk&) = delete;
  LoopDisk& operator=(const LoopDisk&) = delete;

  // Makes `image` (a sparse file) with a GPT holding `parts` in order and
  // attaches it. nullopt on success, else the reason the test must skip
  // or fail.
  std::optional<std::string> Attach(
      const std::string& image, const std::vector<LoopPartitionSpec>& parts);

  // Detaches (also done by the destructor).
  void Detach();

  const std::string& device() const { return device_; }  // "/dev/loop3"
  // "/dev/loop3p1" for `number` 1.
  std::string Partition(int number) const;
  // The GPT partition UUID of partition `number`, lower case.
  std::string PartUuid(int number) const;

 private:
  std::string device_;
  std::vector<std::string> uuids_;
};

// The reason block-slot tests cannot run here, or nullopt when they can
// (root, losetup, mkfs.ext4, sfdisk).
std::optional<std::string> BlockTestsUnavailable();

}  // namespace imab::testing
