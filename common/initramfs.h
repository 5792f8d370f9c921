// Initramfs images: a sequence of segments, each an uncompressed newc cpio or
// one compressed stream holding cpio archives, read the way the kernel reads
// them; and the EVM/IMA certificates they carry (ima-evm-formats.md §5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/cpio_newc.h"
#include "common/initramfs_codec.h"
#include "common/limits.h"
#include "common/result.h"

namespace imab {

// One segment. `original` holds the exact bytes it occupied in the image, so
// untouched segments are written back verbatim.
struct InitramfsSegment {
  InitramfsCompression compression = InitramfsCompression::kNone;
  size_t offset = 0;                  // where it begins in the image
  std::vector<uint8_t> original;      // a stream's zero padding included
  std::vector<CpioArchive> archives;  // decoded content
};

// Bounds for parsing; defaults from common/limits.h, tests pass smaller ones.
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

// Returns a new image in which etc/keys/x509_evm.der holds `evm_der` and
// etc/keys/x509_ima.der, where the image has one, yields `ima_der` (or
// `evm_der` when absent): a regular x509_ima.der gets new content, a symlink
// stays a symlink. When `ima_der` is given and the image has no
// x509_ima.der, one is created. Missing files and parent directories (etc,
// etc/keys) are appended before the trailer of the last archive of the last
// segment as 0100644 / 040755, uid/gid 0, mtime 0, in the name style ("./"
// or not) the archive already uses. Every other member keeps its bytes and
// order; only the segment changed is re-encoded, with its own compression at
// a fixed setting (gzip level 9 with no name and mtime 0, xz preset 6 with a
// CRC32 check as the kernel requires, zstd level 19 with a checksum), so
// equal inputs give equal outputs. All other segments are copied verbatim.
// A re-encoded segment is followed by zeros that keep the next segment's
// offset mod 4. `evm_der` and `ima_der` are borrowed for the call.
// On failure: ParseInitramfs errors; kInvalidArgument "etc/keys certificates
// in the segment at offset N and again in the segment at offset M" when key
// files occur in more than one segment; kMalformed when a key path exists but
// is not a regular file or symlink, or is hard linked; kInvalidArgument when
// a kept symlink would not yield the requested IMA certificate, or a
// certificate is empty or over kMaxCertificateBytes; kLimitExceeded when the
// result passes the limits; kInternal if libarchive fails to compress.
Result<std::vector<uint8_t>> SetInitramfsKeys(
    std::span<const uint8_t> image, std::span<const uint8_t> evm_der,
    std::optional<std::span<const uint8_t>> ima_der,
    const InitramfsLimits& limits = {});

// Encodes one segment from its `archives` (ignoring `original`): the exact
// newc bytes for kNone, else those bytes recompressed at the fixed settings
// SetInitramfsKeys documents. kInvalidArgument if an archive cannot be
// written (see WriteCpioStream), kInternal if libarchive fails.
Result<std::vector<uint8_t>> EncodeInitramfsSegment(
    const InitramfsSegment& segment);

}  // namespace imab
