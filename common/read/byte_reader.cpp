#include "common/read/byte_reader.h"

#include <cstring>

namespace imab {
namespace {

Error Short(size_t wanted, size_t remaining) {
  return MakeError(ErrorCode::kMalformed,
                   "truncated: need " + std::to_string(wanted) + " bytes, " +
                       std::to_string(remaining) + " remain");
}

}  // namespace

Result<std::span<const uint8_t>> ByteReader::ReadBytes(size_t n) {
  if (n > remaining()) {
    return Short(n, remaining());
  }
  std::span<const uint8_t> out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<std::string_view> ByteReader::ReadString(size_t n) {
  IMAB_ASSIGN_OR_RETURN(auto bytes, ReadBytes(n));
  return std::string_view(reinterpret_cast<const char*>(bytes.data()),
                          bytes.size());
}

Result<uint8_t> ByteReader::ReadU8() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(1));
  return b[0];
}

Result<uint16_t> ByteReader::ReadU16Be() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(2));
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

Result<uint32_t> ByteReader::ReadU32Be() {
  IMAB_ASSIGN_OR_RETURN(auto b, ReadBytes(4));
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
         (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

Result<std::string_view> ByteReader::ReadUntil(char delimiter) {
  if (empty()) {
    return MakeError(ErrorCode::kMalformed, "truncated: missing delimiter");
  }
  const void* found = std::memchr(data_.data() + pos_, delimiter, remaining());
  if (found == nullptr) {
    return MakeError(ErrorCode::kMalformed, "truncated: missing delimiter");
  }
  size_t n = static_cast<size_t>(static_cast<const uint8_t*>(found) -
                                 (data_.data() + pos_));
  IMAB_ASSIGN_OR_RETURN(auto s, ReadString(n));
  pos_ += 1;  // the delimiter
  return s;
}

std::span<const uint8_t> ByteReader::ReadRest() {
  std::span<const uint8_t> out = data_.subspan(pos_);
  pos_ = data_.size();
  return out;
}

}  // namespace imab
