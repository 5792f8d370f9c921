// PayloadBuilder: writes the image's entries into payload.tar.zst (canonical
// headers, content, padding) and collects their manifest records, checking
// the tree rules and limits on the way. With --keep-signatures it also
// checks the input's own IMA/EVM signatures as content streams and records
// which keys the image's initramfs files load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "builder/signing_pipeline.h"
#include "common/read/entry.h"
#include "common/read/image_tree.h"
#include "common/read/integrity_check.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "common/read/zstd_stream.h"
#include "common/write/zstd_file_writer.h"

namespace imab::builder {

class PayloadBuilder {
 public:
  // `writer` and `kept` (may be null) are borrowed; `kept` checks the
  // input's own IMA/EVM signatures as they stream (--keep-signatures).
  PayloadBuilder(ZstdFileWriter& writer, uint64_t created,
                 const ImaChecker* kept);

  // --keep-signatures: the initramfs images to read the key files of
  // (`paths`, or by name under boot/ when empty), since nothing rewrites
  // them and the device must still learn which keys they load.
  void RecordKeptInitramfs(std::vector<std::string> paths);
  const std::vector<InitramfsRewrite>& kept_initramfs() const {
    return kept_initramfs_;
  }
  // Initramfs files found by name that load no EVM key (maybe not the boot
  // initramfs at all).
  const std::vector<std::string>& unkeyed_initramfs() const {
    return unkeyed_initramfs_;
  }

  // Tree rules, limits, and a hardlink's shared inode metadata.
  Status Admit(Entry& entry);

  // Streams an admitted entry straight from its source, hashing content.
  Status AddStreamed(SourceEntry& source_entry);

  // Writes an admitted entry whose content was prepared in memory or in a
  // spool file (the signing path).
  Status AddPrepared(PreparedEntry& prepared);

  // The tar end blocks, then the end of the zstd stream.
  Status Finish();

  std::string& records() { return records_; }
  const std::vector<IntegrityFailure>& failures() const { return failures_; }
  uint64_t entries() const { return entries_; }
  uint64_t files() const { return files_; }
  uint64_t content_bytes() const { return content_bytes_; }

 private:
  Status WriteHeader(const Entry& entry);
  Status Record(const Entry& entry);
  Status WritePadding(uint64_t size);
  Status StreamContent(SourceEntry& source_entry,
                       std::vector<uint8_t>& ima_digest);
  bool IsKeptInitramfs(const Entry& entry) const;
  Status RecordInitramfsKeys(const std::string& path);
  Status CopySpool(int fd, uint64_t size);

  ZstdFileWriter& writer_;
  uint64_t created_;
  const ImaChecker* kept_;
  bool record_initramfs_ = false;
  std::vector<std::string> initramfs_paths_;
  std::vector<uint8_t> captured_;  // the initramfs being streamed
  std::vector<InitramfsRewrite> kept_initramfs_;
  std::vector<std::string> unkeyed_initramfs_;
  std::vector<IntegrityFailure> failures_;
  std::vector<uint8_t> buffer_;
  ImageTree tree_;
  std::string records_;
  uint64_t entries_ = 0;
  uint64_t files_ = 0;
  uint64_t content_bytes_ = 0;
};

}  // namespace imab::builder
