// The SVR4 "newc" cpio format (magic 070701) as used by Linux initramfs:
// a strict, bounded reader and a writer such that an unmodified archive
// round-trips byte for byte. The "crc" variant (070702) and odc (070707) are
// refused: neither GNU cpio -H newc nor the kernel's gen_init_cpio writes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/read/limits.h"
#include "common/read/result.h"

namespace imab {

// One header plus its name and data. The 13 newc fields map one to one;
// c_check must be 0 in newc and is therefore not stored.
struct CpioMember {
  std::string name;  // as stored, without the NUL ("./etc" or "etc")
  uint32_t ino = 0;
  uint32_t mode = 0;  // full st_mode, type bits included (S_IFREG | 0644)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint32_t mtime = 0;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  uint32_t rdevmajor = 0;
  uint32_t rdevminor = 0;
  std::vector<uint8_t> data;  // file content or symlink target
  // Hex digits A-F were upper case (gen_init_cpio writes "%08X", GNU cpio
  // "%08x"); kept so the header is rewritten with the same bytes.
  bool upper_hex = false;

  bool operator==(const CpioMember&) const = default;
};

// One archive: members in order, the "TRAILER!!!" record, and the zero bytes
// that followed the trailer (GNU cpio pads the archive to 512 bytes).
struct CpioArchive {
  std::vector<CpioMember> members;  // the trailer excluded
  CpioMember trailer;               // name is always "TRAILER!!!"
  size_t trailing_zeros = 0;

  bool operator==(const CpioArchive&) const = default;
};

// Bounds applied while parsing; the defaults come from common/read/limits.h.
// Tests pass smaller values.
struct CpioLimits {
  size_t max_members = kMaxInitramfsMembers;  // across all archives parsed
  size_t max_name_bytes = kMaxCpioNameBytes;  // without the NUL
};

inline constexpr char kCpioTrailerName[] = "TRAILER!!!";

// Parses `bytes` as one or more newc archives back to back, each followed by
// zero padding, the way the kernel reads an uncompressed initramfs: the next
// archive starts at the next non-zero byte, which must be 4-aligned.
// `bytes` is borrowed only for the call; the result owns copies.
// On failure: kMalformed naming the problem and member ("cpio: truncated
// member 'etc/foo'", "cpio: not a newc cpio (magic 070707)", "cpio: no
// TRAILER!!!", bad hex digit, non-zero padding or c_check, name without NUL),
// kLimitExceeded when more than limits.max_members members or a name longer
// than limits.max_name_bytes appears. A member's data size is checked
// against the bytes remaining before anything is copied.
Result<std::vector<CpioArchive>> ParseCpioStream(std::span<const uint8_t> bytes,
                                                 const CpioLimits& limits = {});

// Parses exactly one archive (through its trailer) starting at `bytes[0]`
// and reports in `*consumed` how many bytes it used (trailing zeros not
// counted, so trailing_zeros is 0 in the result). Same errors as
// ParseCpioStream; `*members_seen` is incremented per member and checked
// against limits.max_members.
Result<CpioArchive> ParseCpioArchive(std::span<const uint8_t> bytes,
                                     const CpioLimits& limits,
                                     size_t* members_seen, size_t* consumed);

}  // namespace imab
