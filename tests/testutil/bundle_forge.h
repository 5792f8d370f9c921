// BundleForge: assembles bundles by hand from entries, so tests can make
// validly signed bundles whose manifest and payload disagree in exactly one
// way, or whose outer container is malformed in exactly one way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "tests/testutil/pki.h"

namespace imab::testing {

struct ForgedEntry {
  Entry entry;          // sha256 and size are filled from `content`
  std::string content;  // files only
};

// The pieces of a bundle, editable between the stages.
struct ForgedBundle {
  std::string manifest;
  std::vector<uint8_t> signature;
  std::string payload;  // compressed
};

// Raw decompressed payload stream for `entries` (headers, content, padding),
// without the end blocks; hardlinks get their target's metadata.
std::string EncodePayloadTar(const std::vector<ForgedEntry>& entries,
                             uint64_t created);

// zstd-compresses `tar` at level 3 (one frame, checksum on).
std::string Compress(const std::string& tar);

// Fills sha256/size of file entries from their content.
void FillDigests(std::vector<ForgedEntry>& entries);

// The canonical manifest for `entries` and a payload.
std::string EncodeManifest(const std::vector<ForgedEntry>& entries,
                           const std::string& payload, uint64_t created,
                           const std::string& version = "1.0.0");

// CMS signature of `manifest` by `signer` (with optional intermediate).
std::vector<uint8_t> SignWith(const std::string& manifest,
                              const TestIdentity& signer,
                              const TestIdentity* intermediate = nullptr);

// An outer tar of arbitrary members (canonical headers), ending with the
// two zero blocks.
std::string OuterTar(
    const std::vector<std::pair<std::string, std::string>>& members,
    uint64_t mtime);

// The standard three-member file for a ForgedBundle.
std::string Assemble(const ForgedBundle& bundle, uint64_t mtime);

// A consistent, signed bundle of `entries` (the happy path to start from).
ForgedBundle Forge(std::vector<ForgedEntry> entries, const TestIdentity& signer,
                   uint64_t created);

// Small helpers to write entries.
ForgedEntry File(const std::string& path, const std::string& content,
                 uint32_t mode = 0644);
ForgedEntry Dir(const std::string& path, uint32_t mode = 0755);
ForgedEntry Symlink(const std::string& path, const std::string& target);
ForgedEntry Hardlink(const std::string& path, const std::string& target);

}  // namespace imab::testing
