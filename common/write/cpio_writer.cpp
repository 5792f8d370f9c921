// Writes newc cpio archives, the encoding ParseCpioStream reads.
#include "common/write/cpio_writer.h"

#include <array>
#include <string_view>

namespace imab {
namespace {

constexpr std::string_view kNewcMagic = "070701";
constexpr size_t kFieldCount = 13;

size_t PadTo4(size_t n) { return (4 - (n % 4)) % 4; }

void AppendHex(uint32_t v, bool upper, std::vector<uint8_t>& out) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (int shift = 28; shift >= 0; shift -= 4) {
    out.push_back(static_cast<uint8_t>(digits[(v >> shift) & 0xf]));
  }
}

void AppendZeros(size_t n, std::vector<uint8_t>& out) {
  out.insert(out.end(), n, uint8_t{0});
}

Status AppendMember(const CpioMember& m, size_t base,
                    std::vector<uint8_t>& out) {
  if (m.name.empty() || m.name.size() > kMaxCpioNameBytes ||
      m.name.find('\0') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cpio member name '" + m.name + "' is unusable");
  }
  if (m.data.size() > UINT32_MAX) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cpio member '" + m.name + "' is larger than 4 GiB");
  }
  const std::array<uint32_t, kFieldCount> fields = {
      m.ino,
      m.mode,
      m.uid,
      m.gid,
      m.nlink,
      m.mtime,
      static_cast<uint32_t>(m.data.size()),
      m.devmajor,
      m.devminor,
      m.rdevmajor,
      m.rdevminor,
      static_cast<uint32_t>(m.name.size() + 1),
      0};
  out.insert(out.end(), kNewcMagic.begin(), kNewcMagic.end());
  for (uint32_t v : fields) {
    AppendHex(v, m.upper_hex, out);
  }
  out.insert(out.end(), m.name.begin(), m.name.end());
  out.push_back(0);
  AppendZeros(PadTo4(out.size() - base), out);
  out.insert(out.end(), m.data.begin(), m.data.end());
  AppendZeros(PadTo4(out.size() - base), out);
  return OkStatus();
}

}  // namespace

Status AppendCpioArchive(const CpioArchive& archive,
                         std::vector<uint8_t>& out) {
  const size_t base = out.size();
  for (const CpioMember& m : archive.members) {
    IMAB_RETURN_IF_ERROR(AppendMember(m, base, out));
  }
  CpioMember trailer = archive.trailer;
  trailer.name = kCpioTrailerName;
  IMAB_RETURN_IF_ERROR(AppendMember(trailer, base, out));
  AppendZeros(archive.trailing_zeros, out);
  return OkStatus();
}

Result<std::vector<uint8_t>> WriteCpioStream(
    std::span<const CpioArchive> archives) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < archives.size(); ++i) {
    // A following archive must start 4-aligned to be found again.
    if (i + 1 < archives.size() && archives[i].trailing_zeros % 4 != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cpio archive " + std::to_string(i) +
                           ": trailing zeros not a multiple of 4");
    }
    IMAB_RETURN_IF_ERROR(AppendCpioArchive(archives[i], out));
  }
  return out;
}

}  // namespace imab
