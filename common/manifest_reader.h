// ManifestReader: parses a manifest (FORMAT.md §3) from a region of a
// ByteSource, one record at a time, in bounded memory, hashing every byte it
// consumes. Only ever run on bytes whose signature has been verified.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_source.h"
#include "common/digest.h"
#include "common/entry.h"
#include "common/manifest.h"
#include "common/result.h"

namespace imab {

class ManifestReader {
 public:
  // Reads and parses the header lines up to and including `entries`.
  // `source` is borrowed and must outlive the reader; [offset, offset+size)
  // is the manifest. On failure: kMalformed / kLimitExceeded with a message
  // "manifest line N: ..." naming the line and the rule.
  static Result<std::unique_ptr<ManifestReader>> Open(ByteSource& source,
                                                      uint64_t offset,
                                                      uint64_t size);

  const ManifestHeader& header() const { return header_; }

  // The next record with its xattrs, or nullopt after the last one (when
  // entry-count records have been read and the `end` line seen). Checks the
  // lexical rules and per-field limits of FORMAT.md §3.4 (not the tree
  // rules: callers run ImageTree). kHardlink entries carry only path and
  // link_target. Error messages name the line: "manifest line 17: ...".
  Result<std::optional<Entry>> Next();

  // After Next() returned nullopt: checks that no byte follows `end` and
  // returns the SHA-256 of all manifest bytes. Calling it earlier is
  // kInternal.
  Result<Sha256Digest> Finish();

 private:
  ManifestReader(ByteSource& source, uint64_t offset, uint64_t size);
  // Next line without its '\n'; kMalformed at end of region.
  Result<std::string_view> ReadLine();

  ByteSource& source_;
  uint64_t offset_;
  uint64_t size_;
  uint64_t consumed_ = 0;        // bytes of the region handed out as lines
  uint64_t buffered_from_ = 0;   // region offset of buffer_[0]
  std::vector<uint8_t> buffer_;  // bounded by kMaxManifestLineBytes + chunk
  size_t buffer_pos_ = 0;
  size_t buffer_len_ = 0;
  uint64_t line_number_ = 0;
  uint64_t records_read_ = 0;
  bool at_end_ = false;
  std::optional<std::string> pending_line_;  // record line read ahead
  ManifestHeader header_;
  std::unique_ptr<Sha256> hash_;
};

}  // namespace imab
