// UbootEnvConfig: where U-Boot keeps its environment, as libubootenv's
// fw_env.config says it (the file fw_printenv and fw_setenv read): one
// line per copy, "DEVICE OFFSET SIZE [SECTOR-SIZE [SECTORS]]", a second
// line for a redundant environment (manifests/device.conf.md,
// "Bootloader", uboot).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

// The largest environment we read (U-Boot's are 8 KiB to 256 KiB).
inline constexpr uint64_t kMaxUbootEnvBytes = 1u << 20;

struct UbootEnvCopy {
  std::string device;  // a host path, as libubootenv opens it
  uint64_t offset = 0;
  uint64_t size = 0;  // the whole copy: CRC, flag byte, variables
  uint64_t sector_size = 0;
  uint64_t sectors = 0;
};

struct UbootEnvConfig {
  std::vector<UbootEnvCopy> copies;  // one, or two (redundant)
  bool redundant() const { return copies.size() == 2; }
};

// Parses the text of fw_env.config as libubootenv 0.3 does (lines starting
// '#' and blank lines skipped; OFFSET as C's strtoll base 0, SIZE,
// SECTOR-SIZE and SECTORS in hex with or without 0x), stricter where
// libubootenv would guess: kMalformed naming `where` and the line for a
// line of one or two fields, more than five, a field that is not a number,
// a device that is not an absolute path or names a UBI volume
// ("/dev/ubi0:env"), a negative offset (from the device's end), a size of
// zero or above kMaxUbootEnvBytes, a third copy, two copies of different
// sizes, or no copy at all.
Result<UbootEnvConfig> ParseUbootEnvConfig(std::string_view text,
                                           const std::string& where);

}  // namespace imab::verifier
