// MemoryByteSource: a ByteSource over bytes held in memory, for tests and
// fuzz targets (the device reads bundles from files only).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/result.h"

namespace imab {

class MemoryByteSource : public ByteSource {
 public:
  explicit MemoryByteSource(std::vector<uint8_t> data)
      : data_(std::move(data)) {}

  uint64_t size() const override { return data_.size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    IMAB_RETURN_IF_ERROR(CheckReadRange(offset, out.size(), data_.size()));
    if (!out.empty()) {
      std::memcpy(out.data(), data_.data() + offset, out.size());
    }
    return OkStatus();
  }

 private:
  std::vector<uint8_t> data_;
};

}  // namespace imab
