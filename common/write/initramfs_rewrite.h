// Rewrites the etc/keys certificates of an initramfs image: the release
// pipeline's side of common/read/initramfs.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/read/initramfs.h"
#include "common/read/result.h"

namespace imab {

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
