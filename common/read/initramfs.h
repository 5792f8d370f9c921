// Initramfs images: a sequence of segments, each an uncompressed newc cpio or
// one compressed stream holding cpio archives, read the way the kernel reads
// them; and the EVM/IMA certificates they carry (ima-evm-formats.md §5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/read/cpio_newc.h"
#include "common/read/initramfs_codec.h"
#include "common/read/limits.h"
#include "common/read/result.h"

namespace imab {

// One segment. `original` holds the exact bytes it occupied in the image, so
// untouched segments are written back verbatim.
struct InitramfsSegment {
  InitramfsCompression compression = InitramfsCompression::kNone;
  size_t offset = 0;                  // where it begins in the image
  std::vector<uint8_t> original;      // a stream's zero padding included
  std::vector<CpioArchive> archives;  // decoded content
};

// Bounds for parsing; defaults from common/read/limits.h, tests pass smaller
// ones.
struct InitramfsLimits {
  uint64_t max_image_bytes = kMaxInitramfsBytes;
  // Sum of all decompressed cpio bytes (the decompression-bomb bound).
  uint64_t max_decompressed_bytes = kMaxInitramfsBytes;
  CpioLimits cpio;
};

// Splits `image` into segments the way the kernel's unpack_to_rootfs
// (init/initramfs.c, Linux 6.1) walks it: a 4-aligned "0707" begins an
// uncompressed segment, which runs through its archives and the zero padding
// after each; any other non-zero byte begins one compressed stream (one gzip
// member, one xz stream, one zstd frame), which ends exactly where its
// decoder stops, followed by optional zero padding; then the next segment,
// to the end of the image. Later members replace earlier ones of the same
// name, as the kernel extracts in order. `image` is borrowed for the call.
// On failure: kMalformed with a message starting "initramfs: " ("unknown
// compression at offset N", "cpio archive not 4-aligned at offset N", "not a
// newc cpio (magic 070707)", "truncated member 'etc/foo'", "no TRAILER!!!",
// "gzip segment at offset N: ... corrupt gzip stream"), kLimitExceeded when
// the image, the decompressed bytes or the member count pass `limits`.
Result<std::vector<InitramfsSegment>> ParseInitramfs(
    std::span<const uint8_t> image, const InitramfsLimits& limits = {});

// The certificates the kernel and initramfs-framework-ima load at boot.
struct InitramfsKeys {
  std::optional<std::vector<uint8_t>> evm_der;  // etc/keys/x509_evm.der
  std::optional<std::vector<uint8_t>> ima_der;  // etc/keys/x509_ima.der
  // Compression of the last segment (the main archive).
  InitramfsCompression compression = InitramfsCompression::kNone;
};

// Reads both certificates from `image`. Names match with or without a
// leading "./"; when a name occurs more than once the last occurrence wins,
// as the kernel extracts in order. A symlink (x509_ima.der -> x509_evm.der)
// is resolved inside the archive, up to 8 hops; a hard link with its data on
// another member is resolved by inode. On failure: ParseInitramfs errors,
// and kMalformed when a key path is neither a regular file nor a symlink
// resolving to one in the image.
Result<InitramfsKeys> ReadInitramfsKeys(std::span<const uint8_t> image,
                                        const InitramfsLimits& limits = {});

}  // namespace imab
