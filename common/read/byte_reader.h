// ByteReader: the one bounded cursor through which untrusted bytes are read.
// Every Read checks the remaining length first and fails instead of running
// past the end (the idea of BoringSSL's CBS and s2n's stuffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/read/result.h"

namespace imab {

class ByteReader {
 public:
  // `data` is borrowed and must outlive the reader.
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  explicit ByteReader(std::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data()), data.size()) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  // Next `n` bytes, or kMalformed if fewer remain.
  Result<std::span<const uint8_t>> ReadBytes(size_t n);
  // Same as ReadBytes, viewed as characters.
  Result<std::string_view> ReadString(size_t n);
  Result<uint8_t> ReadU8();
  Result<uint16_t> ReadU16Be();
  Result<uint32_t> ReadU32Be();
  // The little-endian reads and Skip are defined on the write side
  // (common/write/byte_reader_le.cpp): the device reads none.
  Result<uint16_t> ReadU16Le();
  Result<uint32_t> ReadU32Le();
  Result<uint64_t> ReadU64Le();
  Status Skip(size_t n);

  // Bytes up to (not including) the next `delimiter`, which is consumed.
  // kMalformed when no delimiter remains.
  Result<std::string_view> ReadUntil(char delimiter);
  // Everything left, consumed.
  std::span<const uint8_t> ReadRest();

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace imab
