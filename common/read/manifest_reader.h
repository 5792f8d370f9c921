// ManifestReader: parses a manifest (FORMAT.md §3) from a region of a
// ByteSource, one record at a time, in bounded memory, hashing every byte it
// consumes. The verifier runs it on its private copy of the manifest, and
// acts on nothing it parsed before the copy's signature verified except a
// carried trust root, which authenticates itself (FORMAT.md §6). It is
// fuzzed (tests/fuzz/manifest_reader_fuzz.cpp) as a parser of untrusted bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab {

// The bounds checked before any byte of a manifest region is read:
// kLimitExceeded if size > kMaxManifestBytes, kMalformed if
// [offset, offset+size) runs past `source`, which the message calls
// `source_name` ("bundle", "source").
Status CheckManifestRegion(const ByteSource& source, uint64_t offset,
                           uint64_t size, std::string_view source_name);

class ManifestReader {
 public:
  // Reads and parses the header lines up to and including `entries`.
  // `source` is borrowed and must outlive the reader; [offset, offset+size)
  // is the manifest. Memory stays below kMaxManifestLineBytes +
  // kStreamChunkBytes for the line buffer whatever `size` is. On failure:
  // kLimitExceeded if size > kMaxManifestBytes (checked before any read);
  // kMalformed if the region runs past the source; kIo if the source fails;
  // else kMalformed / kLimitExceeded with a message "manifest line N: ..."
  // naming the line and the rule.
  static Result<std::unique_ptr<ManifestReader>> Open(ByteSource& source,
                                                      uint64_t offset,
                                                      uint64_t size);

  const ManifestHeader& header() const { return header_; }

  // The next record with its xattrs, or nullopt after the last one (when
  // entry-count records have been read and the `end` line seen). Checks the
  // lexical rules and per-field limits of FORMAT.md §3.4 (not the tree
  // rules: callers run ImageTree). kHardlink entries carry only path and
  // link_target. A kSymlink entry gets mode 0777 (never written). Error
  // messages name the line: "manifest line 17: ...". Bounds from limits.h
  // fail with kLimitExceeded, every other rule with kMalformed. After an
  // error every later call returns the same error.
  Result<std::optional<Entry>> Next();

  // After Next() returned nullopt: checks that no byte follows `end` and
  // returns the SHA-256 of all manifest bytes. Calling it earlier (or twice)
  // is kInternal.
  Result<Sha256Digest> Finish();

  // Test-only: bytes currently allocated for the line buffer. Never exceeds
  // kMaxManifestLineBytes + kStreamChunkBytes, whatever the manifest size.
  size_t buffer_size_for_testing() const { return buffer_.size(); }

 private:
  ManifestReader(ByteSource& source, uint64_t offset, uint64_t size,
                 Sha256 hash);

  // The next line without its '\n', left in the buffer: valid until the
  // next PeekLine() or ConsumeLine(). Reads more of the region as needed.
  // kLimitExceeded for an over-long line, kMalformed at end of region.
  Result<std::string_view> PeekLine();
  // Hashes and drops the line last returned by PeekLine().
  void ConsumeLine();
  // PeekLine() then ConsumeLine(); the view stays valid until the next call.
  Result<std::string_view> ReadLine();
  // Refills the buffer with up to one chunk after the unconsumed bytes.
  Status Fill();

  // ReadLine() split into tokens.
  Result<ManifestTokens> ReadTokens();
  // The value of the next line, which must be `keyword VALUE`.
  Result<std::string_view> ReadField(std::string_view keyword);
  // Reads the next line: kMalformed with `otherwise` unless it is `expected`.
  Status ReadExactLine(std::string_view expected, const char* otherwise);

  Status ParseHeader();
  // The optional sections after `entry-count`, then the `entries` line.
  Status ParseSections();
  // Each parses the lines after `section NAME VERSION` into header_.
  Status ParseTrustRootSection();
  Status ParseDevelopmentSection();
  Status ParseValiditySection();
  Status ParseKeysSection();
  Status ParseImaSection();
  Status ParseCaStoreSection();
  Result<Entry> ParseRecord(std::string_view line);
  Status ParseXattrs(Entry& entry);
  Result<std::optional<Entry>> NextUnchecked();
  // Prefixes "manifest line N: " unless the message has it; makes it sticky.
  Error Fail(Error error);

  ByteSource& source_;
  uint64_t offset_;
  uint64_t size_;
  uint64_t consumed_ = 0;        // bytes of the region handed out as lines
  uint64_t fetched_ = 0;         // bytes of the region read into buffer_
  std::vector<uint8_t> buffer_;  // bounded by kMaxManifestLineBytes + chunk
  size_t buffer_pos_ = 0;        // first unconsumed byte
  size_t buffer_len_ = 0;        // end of valid bytes
  size_t peeked_len_ = 0;        // length of the peeked line incl. '\n'
  uint64_t line_number_ = 0;     // lines consumed so far
  uint64_t records_read_ = 0;
  bool at_end_ = false;
  bool finished_ = false;
  std::optional<Error> error_;  // sticky: the first failure
  ManifestHeader header_;
  Sha256 hash_;
};

}  // namespace imab
