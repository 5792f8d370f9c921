#include "builder/payload_builder.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "common/read/boot_files.h"
#include "common/read/bytes.h"
#include "common/read/content_hasher.h"
#include "common/read/digest.h"
#include "common/read/initramfs.h"
#include "common/read/limits.h"
#include "common/read/tar_header.h"
#include "common/write/manifest_writer.h"
#include "common/write/zstd_file_writer.h"

namespace imab::builder {
namespace {

constexpr size_t kReadChunkBytes = 1u << 20;

}  // namespace

PayloadBuilder::PayloadBuilder(ZstdFileWriter& writer, uint64_t created,
                               const ImaChecker* kept)
    : writer_(writer),
      created_(created),
      kept_(kept),
      buffer_(kReadChunkBytes) {}

void PayloadBuilder::RecordKeptInitramfs(std::vector<std::string> paths) {
  record_initramfs_ = true;
  initramfs_paths_ = std::move(paths);
}

Status PayloadBuilder::Admit(Entry& entry) {
  if (entry.type == EntryType::kHardlink) {
    const ImageTree::Node* target = tree_.FindNode(entry.link_target);
    if (target != nullptr) {
      entry.mode = target->mode;
      entry.uid = target->uid;
      entry.gid = target->gid;
    }
  }
  Status admitted = tree_.Admit(entry);
  if (!admitted.ok()) {
    return WithContext(std::move(admitted).error(), "rootfs");
  }
  if (entry.size > kMaxFileBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     entry.path + ": file larger than the format allows");
  }
  if (entry.xattrs.size() > kMaxXattrsPerEntry) {
    return MakeError(ErrorCode::kLimitExceeded,
                     entry.path + ": more xattrs than the format allows");
  }
  return OkStatus();
}

Status PayloadBuilder::AddStreamed(SourceEntry& source_entry) {
  Entry& entry = source_entry.entry;
  IMAB_RETURN_IF_ERROR(WriteHeader(entry));
  std::vector<uint8_t> ima_digest;
  if (entry.type == EntryType::kFile) {
    IMAB_RETURN_IF_ERROR(StreamContent(source_entry, ima_digest));
  }
  if (kept_ != nullptr) {
    kept_->Check(entry, ima_digest, &failures_);
  }
  return Record(entry);
}

Status PayloadBuilder::AddPrepared(PreparedEntry& prepared) {
  Entry& entry = prepared.entry;
  IMAB_RETURN_IF_ERROR(WriteHeader(entry));
  if (entry.type == EntryType::kFile) {
    if (prepared.spool.valid()) {
      IMAB_RETURN_IF_ERROR(CopySpool(prepared.spool.get(), entry.size));
    } else {
      IMAB_RETURN_IF_ERROR(writer_.Write(AsBytes(prepared.inline_content)));
    }
    IMAB_RETURN_IF_ERROR(WritePadding(entry.size));
  }
  return Record(entry);
}

Status PayloadBuilder::Finish() {
  static const std::array<uint8_t, kTarEndBytes> kEnd{};
  IMAB_RETURN_IF_ERROR(writer_.Write(kEnd));
  return writer_.Finish();
}

Status PayloadBuilder::WriteHeader(const Entry& entry) {
  return writer_.Write(AsBytes(EncodeEntryHeader(entry, created_)));
}

Status PayloadBuilder::Record(const Entry& entry) {
  if (entry.type == EntryType::kFile) {
    ++files_;
    content_bytes_ += entry.size;
  }
  AppendManifestRecord(entry, &records_);
  ++entries_;
  return OkStatus();
}

Status PayloadBuilder::WritePadding(uint64_t size) {
  static const std::array<uint8_t, kTarBlockBytes> kZeros{};
  return writer_.Write(
      std::span<const uint8_t>(kZeros.data(), TarPadding(size)));
}

Status PayloadBuilder::StreamContent(SourceEntry& source_entry,
                                     std::vector<uint8_t>& ima_digest) {
  Entry& entry = source_entry.entry;
  std::optional<HashAlgo> ima_algo;
  if (kept_ != nullptr) {
    ima_algo = kept_->ContentDigestAlgo(entry);
  }
  IMAB_ASSIGN_OR_RETURN(ContentHasher hash, ContentHasher::Create(ima_algo));
  const bool capturing = IsKeptInitramfs(entry);
  if (capturing && entry.size > kMaxInitramfsBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     entry.path + ": initramfs larger than " +
                         std::to_string(kMaxInitramfsBytes) + " bytes");
  }
  uint64_t total = 0;
  while (total <= entry.size) {
    IMAB_ASSIGN_OR_RETURN(size_t n, source_entry.content->Read(buffer_));
    if (n == 0) {
      break;
    }
    std::span<const uint8_t> chunk(buffer_.data(), n);
    hash.Update(chunk);
    if (capturing && captured_.size() + n <= kMaxInitramfsBytes) {
      captured_.insert(captured_.end(), chunk.begin(), chunk.end());
    }
    IMAB_RETURN_IF_ERROR(writer_.Write(chunk));
    total += n;
  }
  if (total != entry.size) {
    return MakeError(ErrorCode::kIo,
                     entry.path + ": changed size while being read");
  }
  entry.sha256 = hash.Finish(&ima_digest);
  if (capturing) {
    IMAB_RETURN_IF_ERROR(RecordInitramfsKeys(entry.path));
  }
  return WritePadding(entry.size);
}

bool PayloadBuilder::IsKeptInitramfs(const Entry& entry) const {
  if (!record_initramfs_ || entry.type != EntryType::kFile) {
    return false;
  }
  if (!initramfs_paths_.empty()) {
    return std::find(initramfs_paths_.begin(), initramfs_paths_.end(),
                     entry.path) != initramfs_paths_.end();
  }
  return BootFileRoleOf(entry.path) == BootFileRole::kInitramfs;
}

Status PayloadBuilder::RecordInitramfsKeys(const std::string& path) {
  Result<InitramfsKeys> keys = ReadInitramfsKeys(captured_);
  captured_.clear();
  captured_.shrink_to_fit();
  if (!keys.has_value()) {
    return WithContext(keys.error(), path);
  }
  if (!keys->evm_der.has_value()) {
    if (initramfs_paths_.empty()) {
      // Found by name only: maybe not the boot initramfs at all.
      unkeyed_initramfs_.push_back(path);
      return OkStatus();
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     path +
                         ": no etc/keys/x509_evm.der, the kernel "
                         "would load no EVM key after reboot");
  }
  InitramfsRewrite record;
  record.path = path;
  IMAB_ASSIGN_OR_RETURN(record.evm_cert_sha256, Sha256Of(*keys->evm_der));
  if (keys->ima_der.has_value()) {
    IMAB_ASSIGN_OR_RETURN(record.ima_cert_sha256, Sha256Of(*keys->ima_der));
  }
  kept_initramfs_.push_back(std::move(record));
  return OkStatus();
}

Status PayloadBuilder::CopySpool(int fd, uint64_t size) {
  uint64_t offset = 0;
  while (offset < size) {
    size_t want =
        static_cast<size_t>(std::min<uint64_t>(buffer_.size(), size - offset));
    ssize_t n = ::pread(fd, buffer_.data(), want, static_cast<off_t>(offset));
    if (n <= 0) {
      return MakeError(ErrorCode::kIo, "reading spooled content back");
    }
    IMAB_RETURN_IF_ERROR(writer_.Write(
        std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n))));
    offset += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

}  // namespace imab::builder
