// One bounded decompressor per compression format the kernel reads
// (lib/decompress.c compressed_formats), on zlib, liblzma, libzstd, liblz4
// and libbz2 directly, in memory: what the initramfs parser and the kernel
// image scan both use. No external program is ever run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/read/result.h"

namespace imab {

enum class Compression {
  kGzip,       // one deflate member, RFC 1952
  kXz,         // one .xz stream
  kLzma,       // the legacy "lzma alone" format (`lzma -9`, `xz -F lzma`)
  kZstd,       // one zstd frame
  kLz4Legacy,  // `lz4 -l`: magic 02 21 4c 18, then size-prefixed blocks
  kLz4Frame,   // the lz4 frame format: magic 04 22 4d 18
  kBzip2,      // one bzip2 stream
};

// Short name ("gzip", "lz4 legacy") for messages and reports.
const char* CompressionName(Compression compression);

// Decodes exactly one stream of `compression` at the start of `input` and
// appends its output to `*out` (not null; callers pass an empty vector).
// Streams are read as the kernel's decompressor for each reads them
// (lib/decompress_*.c, Linux 6.1): a gzip member with header flags FTEXT
// and FNAME only, CRC32 and size trailer checked; an xz stream with check
// none or CRC32; an lzma stream ending at its declared size or end marker;
// a zstd frame; lz4 legacy blocks of at most 8 MiB each, up to the end of
// `input`, a block size 0 or fewer than 4 bytes left (the magic again
// starts a concatenated stream); an lz4 frame; a bzip2 stream.
// On success: the number of bytes of `input` the stream occupied (its
// trailer included); bytes after it are left for the caller.
// kMalformed "corrupt gzip stream: WHY" for a damaged or truncated stream
// or one the kernel cannot read; `*out` then holds what was decoded before
// the damage. kLimitExceeded "gzip stream decompresses to more than N
// bytes" before `*out` would pass `max_output` bytes. kInternal when a
// library cannot set up its decoder.
Result<size_t> DecompressStream(std::span<const uint8_t> input,
                                Compression compression, uint64_t max_output,
                                std::vector<uint8_t>* out);

}  // namespace imab
