#include "tests/testutil/block_device.h"

#include <unistd.h>

#include <filesystem>

#include "tests/testutil/tree_compare.h"
#include "verifier/slots/private_mounts.h"

namespace imab::testing {

std::optional<std::string> BlockTestDevice::Attach(unsigned slot_mib) {
  if (auto why = BlockTestsUnavailable()) {
    return why;
  }
  label_ = "imab-blk-" + std::to_string(::getpid());
  return disk_.Attach(dir_ + "/disk.img",
                      {{label_ + "-a", slot_mib}, {label_ + "-b", slot_mib}});
}

std::string BlockTestDevice::Settings() const {
  return "--set slots=block --set " +
         ShellQuote("slot-a=PARTLABEL=" + label_ + "-a") + " --set " +
         ShellQuote("slot-b=PARTUUID=" + disk_.PartUuid(2)) +
         " --set state-dir=/data/imabundle --set bootloader=grub"
         " --set grubenv=/boot/grub/grubenv";
}

CommandResult BlockTestDevice::Init() const {
  // An empty environment block, as grub-editenv create writes it.
  std::string block = "# GRUB Environment Block\n";
  block.resize(1024, '#');
  std::filesystem::create_directories(device_.root() + "/boot/grub");
  WriteFile(device_.root() + "/boot/grub/grubenv", block);
  return device_.Init(Settings());
}

std::string BlockTestDevice::Active() const {
  std::string text = ReadFile(StateDir() + "/active");
  return text == "a\n" || text == "b\n" ? text.substr(0, 1) : "";
}

std::string BlockTestDevice::State(const std::string& slot) const {
  const std::string path = StateDir() + "/slot-" + slot + ".state";
  return std::filesystem::exists(path) ? ReadFile(path) : "";
}

std::string BlockTestDevice::Primary() const {
  std::string env = ReadFile(device_.root() + "/boot/grub/grubenv");
  size_t at = env.find("\nORDER=");
  if (at == std::string::npos) {
    return "a";
  }
  return env.compare(at + 7, 3, "B A") == 0 ? "b" : "a";
}

std::string BlockTestDevice::PartitionDigest(const std::string& slot) const {
  CommandResult sum = RunShell("sha256sum " + Partition(slot));
  return sum.out.substr(0, 64);
}

std::vector<std::string> BlockTestDevice::CompareSlot(
    const std::string& slot, const std::string& image) const {
  if (!verifier::EnterPrivateMountNamespace().ok()) {
    return {"cannot enter a private mount namespace"};
  }
  const std::string mnt = dir_ + "/mnt-" + slot;
  std::filesystem::create_directories(mnt);
  Status mounted = verifier::MountExt4(Partition(slot), mnt, true);
  if (!mounted.ok()) {
    return {mounted.error().message};
  }
  std::vector<std::string> diffs = CompareTrees(image, mnt);
  Status unmounted = verifier::Unmount(mnt, false);
  if (!unmounted.ok()) {
    diffs.push_back(unmounted.error().message);
  }
  return diffs;
}

}  // namespace imab::testing
