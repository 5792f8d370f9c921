// ByteSource: random-access reads from a bundle file or (in tests and
// fuzzers) from memory, so they can substitute truncated, corrupted or
// failing sources.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Total size in bytes, fixed when the source was opened.
  virtual uint64_t size() const = 0;

  // Fills `out` completely from `offset`. kMalformed if the range runs past
  // size() (a truncated input), kIo if the system refuses the read.
  virtual Status ReadAt(uint64_t offset, std::span<uint8_t> out) = 0;
};

// A regular file opened read-only. Open() opens as OpenInputFile does
// (common/read/input_file.h): O_NONBLOCK, and FIFOs, devices, directories and
// other non-regular files are refused with kInvalidArgument naming the path.
class FileByteSource : public ByteSource {
 public:
  static Result<std::unique_ptr<FileByteSource>> Open(const std::string& path);
  // Takes over `fd`, an open regular file (e.g. a private temporary), whose
  // size is fixed from now on; `name` is for messages. kInternal if `fd` is
  // not an open regular file.
  static Result<std::unique_ptr<FileByteSource>> Adopt(UniqueFd fd,
                                                       const std::string& name);

  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) override;
  int fd() const { return fd_.get(); }

 private:
  FileByteSource(UniqueFd fd, uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  UniqueFd fd_;
  uint64_t size_;
  std::string path_;
};

// OK when `length` bytes at `offset` lie within `size` bytes; the kMalformed
// of a truncated input otherwise. Every ByteSource checks a read with it
// (the tests' MemoryByteSource, tests/testutil/memory_byte_source.h, too).
Status CheckReadRange(uint64_t offset, size_t length, uint64_t size);

}  // namespace imab
