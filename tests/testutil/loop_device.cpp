#include "tests/testutil/loop_device.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/testutil/run.h"

namespace imab::testing {
namespace {

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool PartitionsVisible(const std::string& device, size_t count) {
  for (size_t i = 1; i <= count; ++i) {
    if (!std::filesystem::exists(device + "p" + std::to_string(i))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> BlockTestsUnavailable() {
  if (::geteuid() != 0) {
    return "block slots need root (losetup, mkfs.ext4, mount)";
  }
  for (const char* tool : {"losetup", "sfdisk", "mkfs.ext4", "partx"}) {
    if (!HaveTool(tool)) {
      return std::string(tool) + " is not installed";
    }
  }
  if (!std::filesystem::exists("/dev/loop-control")) {
    return "no /dev/loop-control";
  }
  return std::nullopt;
}

LoopDisk::~LoopDisk() { Detach(); }

std::optional<std::string> LoopDisk::Attach(
    const std::string& image, const std::vector<LoopPartitionSpec>& parts) {
  unsigned total_mib = 2;  // GPT headers and alignment
  std::string script = "label: gpt\n";
  for (const LoopPartitionSpec& part : parts) {
    total_mib += part.size_mib;
    script += "size=" + std::to_string(part.size_mib) + "MiB";
    if (!part.label.empty()) {
      script += ", name=" + part.label;
    }
    script += "\n";
  }
  CommandResult made = RunShell(
      "rm -f " + ShellQuote(image) + " && truncate -s " +
      std::to_string(total_mib) + "M " + ShellQuote(image) + " && printf " +
      ShellQuote(script) + " | sfdisk -q " + ShellQuote(image));
  if (made.exit_code != 0) {
    return "sfdisk: " + made.err;
  }
  CommandResult attached =
      RunShell("losetup -f -P --show " + ShellQuote(image));
  if (attached.exit_code != 0) {
    return "losetup: " + attached.err;
  }
  device_ = Trim(attached.out);
  // Without udev the kernel's scan is not always done when losetup
  // returns (or not at all): partx asks for it explicitly.
  for (int i = 0; i < 20 && !PartitionsVisible(device_, parts.size()); ++i) {
    if (i == 5) {
      RunShell("partx -a " + ShellQuote(device_) + " 2>/dev/null");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!PartitionsVisible(device_, parts.size())) {
    return "the partitions of " + device_ + " did not appear";
  }
  for (size_t i = 1; i <= parts.size(); ++i) {
    CommandResult uuid = RunShell("sfdisk --part-uuid " + ShellQuote(image) +
                                  " " + std::to_string(i));
    std::string text = Trim(uuid.out);
    for (char& c : text) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    uuids_.push_back(text);
  }
  return std::nullopt;
}

void LoopDisk::Detach() {
  if (device_.empty()) {
    return;
  }
  RunShell("losetup -d " + ShellQuote(device_));
  device_.clear();
}

std::string LoopDisk::Partition(int number) const {
  return device_ + "p" + std::to_string(number);
}

std::string LoopDisk::PartUuid(int number) const {
  return uuids_.at(static_cast<size_t>(number - 1));
}

}  // namespace imab::testing
