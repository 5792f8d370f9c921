// The ByteReader reads only the release pipeline makes (little-endian
// fields of directory entries and xz footers, skipping): here, so that the
// device links none of them.
#include "common/read/byte_reader.h"

namespace imab {

Result<uint16_t> ByteReader::ReadU16Le() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(2));
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}

Result<uint32_t> ByteReader::ReadU32Le() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(4));
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) |
         (uint32_t{b[3]} << 24);
}

Result<uint64_t> ByteReader::ReadU64Le() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(8));
  uint64_t v = 0;
  for (size_t i = 8; i > 0; --i) {
    v = (v << 8) | b[i - 1];
  }
  return v;
}

Status ByteReader::Skip(size_t n) {
  IMAB_RETURN_IF_ERROR(ReadBytes(n));
  return OkStatus();
}

}  // namespace imab
