// The manifest model and its tokens (FORMAT.md §3). The reader, which parses
// untrusted bytes, lives in manifest_reader.h; the canonical writer in
// common/write/manifest_writer.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/digest.h"
#include "common/read/entry.h"
#include "common/read/kernel_profile.h"
#include "common/read/result.h"

namespace imab {

inline constexpr uint32_t kFormatVersion = 2;

// A certificate whose key signs security.ima / security.evm values.
struct SigningCertificate {
  uint32_t keyid = 0;  // last 4 bytes of its subjectKeyIdentifier
  std::string der;     // the certificate, DER

  bool operator==(const SigningCertificate&) const = default;
};

// Section `ima 1` (FORMAT.md §3.3.1): how the image's IMA/EVM signatures
// were made, so the verifier can check every one of them.
struct ImaSection {
  KernelProfile profile;                         // EVM digest layout and xattrs
  std::vector<SigningCertificate> certificates;  // 1..kMaxSigningCerts

  bool operator==(const ImaSection&) const = default;
};

// An initramfs of the image and the certificates it must carry.
struct InitramfsRecord {
  std::string path;                // image path of the initramfs file
  Sha256Digest evm_cert_sha256{};  // of etc/keys/x509_evm.der inside it
  std::optional<Sha256Digest> ima_cert_sha256;  // of x509_ima.der, if any

  bool operator==(const InitramfsRecord&) const = default;
};

// A kernel file of the image that carries every kernel CA of the section
// (FORMAT.md §3.3.3): the verifier finds each CA in it again while it
// streams, and checks its version banner.
struct KernelRecord {
  std::string path;    // image path of the kernel file
  uint32_t major = 0;  // "Linux version MAJOR.MINOR..."
  uint32_t minor = 0;

  bool operator==(const KernelRecord&) const = default;
};

// Section `keys` 2 (FORMAT.md §3.3.3): the key material the image's boot
// chain carries, so the device can predict the keyring after the update.
// The kernel CAs count only when `kernels` is not empty: then every kernel
// the image ships is listed and carries them.
struct KeysSection {
  uint64_t key_generation = 0;          // monotonic across releases
  std::vector<std::string> kernel_cas;  // DER, CAs built into the kernel
  std::vector<KernelRecord> kernels;    // strictly increasing by path
  std::vector<InitramfsRecord> initramfs;

  bool operator==(const KeysSection&) const = default;
};

// One trust anchor of the image's CA store: a certificate that TLS clients
// on the device trust through etc/ssl/certs.
struct CaAnchorRecord {
  std::string link;        // file name in etc/ssl/certs ("ISRG_Root_X1.pem")
  Sha256Digest sha256{};   // of the certificate's DER
  uint64_t not_after = 0;  // seconds since the epoch (0 for earlier dates)
  std::string subject;     // one-line subject, for people (SubjectLine)

  bool operator==(const CaAnchorRecord&) const = default;
};

// Section `ca-store 1` (FORMAT.md §3.3.6): the CA store the builder
// generated into etc/ssl/certs, which the verifier recomputes from the
// image and compares, and which device policy (required anchors) reads.
struct CaStoreSection {
  Sha256Digest bundle_sha256{};         // of etc/ssl/certs/ca-certificates.crt
  std::vector<CaAnchorRecord> anchors;  // strictly increasing by link

  bool operator==(const CaStoreSection&) const = default;
};

// Everything before the `entries` line.
struct ManifestHeader {
  uint32_t format_version = kFormatVersion;
  std::string kind = "full";
  std::string image_version;  // VERSION, FORMAT.md §3.1
  std::string compatible;     // NAME
  uint64_t created = 0;       // seconds since the epoch
  uint64_t payload_size = 0;
  Sha256Digest payload_sha256{};
  uint64_t entry_count = 0;
  // Section `trust-root 1` (FORMAT.md §3.3.4): the exact bytes of a signed
  // trust root (FORMAT.md §8) the device adopts after installing; empty
  // when absent.
  std::string trust_root;
  // Section `development 1` (FORMAT.md §3.3.2): built with keys that
  // example layers publish; devices refuse it unless configured otherwise.
  bool development = false;
  // Section `validity 1` (FORMAT.md §3.3.5): after this time (seconds since
  // the epoch) devices refuse the bundle, so a withdrawn release cannot be
  // replayed forever.
  std::optional<uint64_t> expires;
  std::optional<KeysSection> keys;
  std::optional<ImaSection> ima;  // absent: the image carries no IMA/EVM xattrs
  // Absent: the builder left etc/ssl/certs as the input had it.
  std::optional<CaStoreSection> ca_store;

  bool operator==(const ManifestHeader&) const = default;
};

// A byte spelled as itself in a STR token: printable ASCII except '%'.
bool IsLiteralStrByte(uint8_t b);
// Decodes a STR token; kMalformed on any non-canonical spelling.
Result<std::string> DecodeStrToken(std::string_view token);

// Checks that `name` is a NAME token / `version` a VERSION token (FORMAT.md
// §3.1); kInvalidArgument naming the rule otherwise. The builder validates
// user input with these before writing anything.
Status CheckCompatibleName(std::string_view name);
Status CheckImageVersion(std::string_view version);

// Compares two valid VERSION strings numerically: <0, 0, >0.
int CompareImageVersions(std::string_view a, std::string_view b);

// One manifest line split into its tokens (FORMAT.md §3.1). The views point
// into the line given to SplitManifestLine and live as long as it does.
inline constexpr size_t kMaxManifestTokens =
    7;  // file PATH MODE UID GID SIZE SHA
struct ManifestTokens {
  std::array<std::string_view, kMaxManifestTokens> at;
  size_t count = 0;  // >= 1 after a successful split; at[0] is the keyword
};

// Splits `line` (without its '\n') at single spaces. kMalformed naming the
// rule when the line has a byte outside 0x20..0x7E (carriage return and tab
// named as such), is empty, has a leading, trailing or double space, or has
// more than kMaxManifestTokens tokens.
Result<ManifestTokens> SplitManifestLine(std::string_view line);

// Parses a NUM token (decimal digits, no sign, no leading zero) for the field
// `name` (used in messages). kMalformed for any other spelling or a value
// over 2^64-1; `over_max` when the value exceeds `max`.
Result<uint64_t> ParseNumToken(std::string_view token, std::string_view name,
                               uint64_t max = UINT64_MAX,
                               ErrorCode over_max = ErrorCode::kMalformed);
// Parses a MODE token: exactly four octal digits. kMalformed otherwise.
Result<uint32_t> ParseModeToken(std::string_view token);
// Parses a SHA token (64 lower-case hex digits) for the field `name`;
// kMalformed otherwise.
Result<Sha256Digest> ParseShaToken(std::string_view token,
                                   std::string_view name);

// A HEX token of at most `max_bytes` bytes, for the field `what`:
// kLimitExceeded "WHAT longer than N bytes" (checked before decoding), else
// HexDecode's error prefixed with `what`. Callers handle `-`.
Result<std::string> ParseBoundedHexToken(std::string_view token,
                                         size_t max_bytes,
                                         std::string_view what);

// Tokens of section `ima` 1 (FORMAT.md §3.3.1). Each returns kMalformed
// naming the rule, so the reader can prefix the line number.
// A KEYID token: exactly 8 lower-case hex digits, big-endian.
Result<uint32_t> ParseKeyIdToken(std::string_view token);
// The DER of a `cert` line: HEX, non-empty (no `-`); kLimitExceeded when it
// decodes to more than kMaxCertificateBytes (checked before decoding).
Result<std::string> ParseCertificateToken(std::string_view token);
// A `kernel-profile` STR token: decodes, parses with ParseKernelProfile and
// requires the canonical spelling (KernelProfileName of the result), so one
// profile has one manifest line.
Result<KernelProfile> ParseKernelProfileToken(std::string_view token);

}  // namespace imab
