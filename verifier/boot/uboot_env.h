// UbootEnv: U-Boot's environment block as libubootenv and U-Boot keep it:
// a little-endian CRC-32 (zlib's) of the data area, for a redundant
// environment a flag byte saying which copy is newer, then NUL-terminated
// NAME=VALUE strings ended by an empty one (manifests/device.conf.md,
// "Bootloader", uboot). Only reads: writes go through fw_setenv.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

using UbootVariables = std::vector<std::pair<std::string, std::string>>;

// How the flag byte of a redundant environment orders the copies:
// incremented on every save (files, block devices, NAND, UBI), or 1 for
// the active copy and 0 for the obsolete one (NOR flash, which can clear
// bits without an erase).
enum class UbootFlagScheme { kIncremental, kBoolean };

// zlib's crc32() of `data`.
uint32_t UbootEnvCrc32(std::string_view data);

// What a copy's header says: whether the CRC matches its data area, and
// its flag byte (0 when not redundant). `copy` holds at least 6 bytes.
struct UbootEnvHeader {
  bool crc_ok = false;
  uint8_t flags = 0;
};
UbootEnvHeader ReadUbootEnvHeader(std::string_view copy, bool redundant);

// The copy libubootenv 0.3 (and U-Boot) take from two: the only one with
// a good CRC, else the newer by the flags (with the wrap from 255 to 0
// for kIncremental, 255 being an erased flag for kBoolean); 0 when both
// are bad.
size_t ChooseUbootEnvCopy(const UbootEnvHeader headers[2],
                          UbootFlagScheme scheme);

// The variables of a copy, its CRC not checked. kMalformed naming `where`
// and the offset for a string without '=', with an empty name, a name
// twice (tools disagree on which wins), or a last string not ended by a
// NUL within the copy.
Result<UbootVariables> ParseUbootEnvVariables(std::string_view copy,
                                              bool redundant,
                                              const std::string& where);

// The environment in force: one copy, or two read as a redundant pair
// (same size, at least 6 bytes each). kMalformed naming `where` when no
// copy has a good CRC (U-Boot would boot with its built-in default and
// fw_printenv with another), or the chosen copy's variables are damaged.
Result<UbootVariables> DecodeUbootEnv(const std::vector<std::string>& copies,
                                      UbootFlagScheme scheme,
                                      const std::string& where);

// The value of `name` in `variables`, or nullptr.
const std::string* FindUbootVariable(const UbootVariables& variables,
                                     std::string_view name);

}  // namespace imab::verifier
