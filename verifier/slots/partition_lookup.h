// PartitionLookup: the block device a device.conf slot names ("/dev/NAME",
// "PARTUUID=ID", "PARTLABEL=NAME"), found without udev: the partitions the
// kernel lists in /proc/partitions are probed with libblkid for their
// partition-table entry (GPT or MBR), not looked up in /dev/disk/by-*,
// which only udev makes.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/read/result.h"

namespace imab::verifier {

struct Partition {
  std::string spelling;  // as device.conf wrote it
  std::string path;      // "/dev/loop0p1"
  dev_t rdev = 0;        // its device number
};

// Resolves `spelling`. "/dev/NAME" must be a block device; "PARTUUID=ID"
// (compared without regard to case, as GPT UUIDs and MBR "XXXXXXXX-NN" are
// spelt either way) and "PARTLABEL=NAME" (exact) must match exactly one
// partition. kInvalidArgument naming `spelling` when nothing or more than
// one partition matches, or the spelling is none of the three.
Result<Partition> LookUpPartition(const std::string& spelling);

}  // namespace imab::verifier
