// Every bound the verifier enforces on untrusted input, in one place.
// manifests/FORMAT.md §7 lists the same numbers; change both together.
#pragma once

#include <cstddef>
#include <cstdint>

namespace imab {

// Outer container (FORMAT.md §2).
inline constexpr uint64_t kMaxManifestBytes = 256ull << 20;  // streamed
inline constexpr uint64_t kMaxSignatureBytes = 256ull << 10;
// The largest size an 11-digit octal ustar size field holds (8 GiB - 1).
inline constexpr uint64_t kMaxPayloadBytes = 077777777777ull;

// Manifest (FORMAT.md §3).
inline constexpr size_t kMaxManifestLineBytes = 256u << 10;
inline constexpr uint64_t kMaxEntries = 2'000'000;
inline constexpr size_t kMaxPathBytes = 4096;          // PATH_MAX
inline constexpr size_t kMaxPathComponentBytes = 255;  // NAME_MAX
inline constexpr size_t kMaxXattrNameBytes = 255;      // XATTR_NAME_MAX
inline constexpr size_t kMaxXattrValueBytes = 65536;   // XATTR_SIZE_MAX
inline constexpr size_t kMaxXattrsPerEntry = 64;
inline constexpr size_t kMaxStringFieldBytes = 255;  // compatible, version
inline constexpr uint64_t kMaxFileBytes = 1ull << 40;
inline constexpr uint32_t kMaxDeviceMajor = 4095;     // 12 bits
inline constexpr uint32_t kMaxDeviceMinor = 1048575;  // 20 bits
// uid and gid: 2^32-1 is (uid_t)-1, which chown(2) reads as "leave
// unchanged" and make_kuid() maps to INVALID_UID (fs/open.c chown_common),
// so no file can be given that owner.
inline constexpr uint32_t kMaxOwnerId = 4294967294;

inline constexpr size_t kMaxSigningCerts = 8;
inline constexpr size_t kMaxCertificateBytes = 16u << 10;
inline constexpr size_t kMaxInitramfsRecords = 16;
inline constexpr size_t kMaxKernelRecords = 16;
inline constexpr size_t kMaxTrustRootBytes = 256u << 10;
inline constexpr size_t kMaxTrustRootEntries = 8;  // CAs, keys

// Key, certificate and key-list files a user names (PEM or DER, read
// whole): small, so the cap only bounds what a wrong path can make a tool
// read into memory.
inline constexpr size_t kMaxKeyFileBytes = 1u << 20;

// Payload (FORMAT.md §4).
inline constexpr int kMaxZstdWindowLog = 23;  // 8 MiB decoder window
inline constexpr size_t kStreamChunkBytes = 64u << 10;

// Initramfs images (common/read/initramfs.h): the whole image and, separately,
// the decompressed cpio bytes; and the members across all its archives.
inline constexpr uint64_t kMaxInitramfsBytes = 256ull << 20;
// A kernel file (common/read/kernel_image.h): held whole while it streams, and
// each compressed stream in it decompressed at most this far.
inline constexpr uint64_t kMaxKernelBytes = 256ull << 20;
inline constexpr uint64_t kMaxKernelDecompressedBytes = 256ull << 20;
// An lzma ("alone") stream's header names the dictionary its decoder
// allocates, up to 4 GiB: refused past this (`lzma -9` asks for 64 MiB).
inline constexpr uint64_t kMaxLzmaDecoderMemoryBytes = 256ull << 20;
inline constexpr size_t kMaxInitramfsMembers = 100000;
// newc names (without the NUL); PATH_MAX like kMaxPathBytes.
inline constexpr size_t kMaxCpioNameBytes = 4096;

// The CA store (FORMAT.md §3.3.6, common/read/ca_store.h). The builder and the
// verifier hold the store's inputs in memory (conf, every file and link
// under usr/share/ca-certificates and usr/local/share/ca-certificates, the
// regular files of etc/ssl/certs): at most this many entries and bytes in
// all (Debian's full Mozilla set is about 150 files and 220 KiB).
inline constexpr size_t kMaxCaInputEntries = 16384;
inline constexpr uint64_t kMaxCaInputBytes = 32ull << 20;
// `anchor` lines of section ca-store.
inline constexpr size_t kMaxCaAnchors = 8192;

}  // namespace imab
