#include "verifier/slots/partition_lookup.h"

#include <blkid.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "common/read/printable.h"

namespace imab::verifier {
namespace {

struct ProbeDeleter {
  void operator()(blkid_struct_probe* probe) const { blkid_free_probe(probe); }
};
using ProbePtr = std::unique_ptr<blkid_struct_probe, ProbeDeleter>;

Error Invalid(const std::string& spelling, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "slot " + Printable(spelling) + ": " + why);
}

// One line of /proc/partitions: "major minor #blocks name".
struct KernelPartition {
  dev_t rdev;
  std::string name;
};

std::vector<KernelPartition> ListKernelPartitions() {
  std::vector<KernelPartition> list;
  std::ifstream in("/proc/partitions");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    unsigned major = 0;
    unsigned minor = 0;
    unsigned long long blocks = 0;
    std::string name;
    if (fields >> major >> minor >> blocks >> name) {
      list.push_back({makedev(major, minor), name});
    }
  }
  return list;
}

// Whole disks carry no partition entry; sysfs tells them apart without
// opening them. Without sysfs every device is probed.
bool MayBePartition(const std::string& name) {
  struct stat st {};
  if (::stat("/sys/class/block", &st) != 0) {
    return true;
  }
  return ::access(("/sys/class/block/" + name + "/partition").c_str(), F_OK) ==
         0;
}

// The partition-table entry `value_name` (PART_ENTRY_UUID, PART_ENTRY_NAME)
// of the partition `path`; nullopt when it has none or cannot be probed.
std::optional<std::string> ProbeEntry(const std::string& path,
                                      const char* value_name) {
  ProbePtr probe(blkid_new_probe_from_filename(path.c_str()));
  if (probe == nullptr) {
    return std::nullopt;
  }
  blkid_probe_enable_superblocks(probe.get(), 0);
  blkid_probe_enable_partitions(probe.get(), 1);
  blkid_probe_set_partitions_flags(probe.get(), BLKID_PARTS_ENTRY_DETAILS);
  // The entry comes from the parent disk's table: found even when the
  // partition itself holds no table (return 1, "nothing found").
  if (blkid_do_safeprobe(probe.get()) < 0) {
    return std::nullopt;
  }
  const char* data = nullptr;
  size_t size = 0;
  if (blkid_probe_lookup_value(probe.get(), value_name, &data, &size) != 0 ||
      data == nullptr) {
    return std::nullopt;
  }
  // `size` counts the terminating NUL.
  return std::string(data, size > 0 ? size - 1 : 0);
}

Result<Partition> FromPath(const std::string& spelling) {
  struct stat st {};
  if (::stat(spelling.c_str(), &st) != 0) {
    return Invalid(spelling, std::strerror(errno));
  }
  if (!S_ISBLK(st.st_mode)) {
    return Invalid(spelling, "not a block device");
  }
  return Partition{spelling, spelling, st.st_rdev};
}

Result<Partition> FromTag(const std::string& spelling, const char* value_name,
                          const std::string& wanted, bool ignore_case) {
  std::vector<Partition> found;
  for (const KernelPartition& part : ListKernelPartitions()) {
    if (!MayBePartition(part.name)) {
      continue;
    }
    const std::string path = "/dev/" + part.name;
    struct stat st {};
    // The node must be the partition the kernel lists, not a stale name.
    if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode) ||
        st.st_rdev != part.rdev) {
      continue;
    }
    std::optional<std::string> value = ProbeEntry(path, value_name);
    if (value.has_value() &&
        (ignore_case ? ::strcasecmp(value->c_str(), wanted.c_str()) == 0
                     : *value == wanted)) {
      found.push_back(Partition{spelling, path, st.st_rdev});
    }
  }
  if (found.empty()) {
    return Invalid(spelling, "no partition in /proc/partitions has it");
  }
  if (found.size() > 1) {
    // Two disks cloned from one image: either could be the slot.
    return Invalid(spelling,
                   "matches both " + found[0].path + " and " + found[1].path);
  }
  return found[0];
}

}  // namespace

Result<Partition> LookUpPartition(const std::string& spelling) {
  if (!spelling.empty() && spelling.front() == '/') {
    return FromPath(spelling);
  }
  const size_t equals = spelling.find('=');
  const std::string tag = spelling.substr(0, equals);
  const std::string wanted =
      equals == std::string::npos ? "" : spelling.substr(equals + 1);
  if (tag != "PARTUUID" && tag != "PARTLABEL") {
    return Invalid(spelling,
                   "expected /dev/NAME, PARTUUID=ID or PARTLABEL=NAME");
  }
  if (wanted.empty()) {
    return Invalid(spelling, "names no partition");
  }
  return tag == "PARTUUID"
             ? FromTag(spelling, "PART_ENTRY_UUID", wanted, true)
             : FromTag(spelling, "PART_ENTRY_NAME", wanted, false);
}

}  // namespace imab::verifier
