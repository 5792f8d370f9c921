#include "builder/bundle_builder.h"

#include <filesystem>
#include <vector>

#include "builder/atomic_output.h"
#include "builder/manifest_signer.h"
#include "builder/rootfs_source.h"
#include "builder/signing_identity.h"
#include "common/bundle_container.h"
#include "common/image_tree.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/tar_header.h"
#include "common/zstd_stream.h"

namespace imab::builder {
namespace {

constexpr size_t kReadChunkBytes = 1u << 20;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status CheckOptions(const BuildOptions& options) {
  IMAB_RETURN_IF_ERROR(CheckImageVersion(options.image_version));
  IMAB_RETURN_IF_ERROR(CheckCompatibleName(options.compatible));
  if (options.created > kTarMaxOctal11) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "creation time " + std::to_string(options.created) +
                         " is past what the format can hold");
  }
  if (options.output.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no output path given");
  }
  return OkStatus();
}

// Streams the payload: every entry's header and content into the zstd
// writer, recording the manifest records as it goes.
class PayloadBuilder {
 public:
  PayloadBuilder(ZstdFileWriter& writer, uint64_t created)
      : writer_(writer), created_(created), buffer_(kReadChunkBytes) {}

  Status Add(SourceEntry& source_entry, std::string* records) {
    Entry& entry = source_entry.entry;
    if (entry.type == EntryType::kHardlink) {
      // A hardlink shares its target's inode; its header carries the
      // target's metadata (FORMAT.md §4.2).
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
    std::string header = EncodeEntryHeader(entry, created_);
    IMAB_RETURN_IF_ERROR(writer_.Write(AsBytes(header)));
    if (entry.type == EntryType::kFile) {
      IMAB_RETURN_IF_ERROR(StreamContent(source_entry));
      ++files_;
      content_bytes_ += entry.size;
    }
    AppendManifestRecord(entry, records);
    ++entries_;
    return OkStatus();
  }

  Status Finish() {
    static const std::array<uint8_t, kTarEndBytes> kEnd{};
    IMAB_RETURN_IF_ERROR(writer_.Write(kEnd));
    return writer_.Finish();
  }

  uint64_t entries() const { return entries_; }
  uint64_t files() const { return files_; }
  uint64_t content_bytes() const { return content_bytes_; }

 private:
  Status StreamContent(SourceEntry& source_entry) {
    Entry& entry = source_entry.entry;
    IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
    uint64_t total = 0;
    while (true) {
      IMAB_ASSIGN_OR_RETURN(size_t n, source_entry.content->Read(buffer_));
      if (n == 0) {
        break;
      }
      std::span<const uint8_t> chunk(buffer_.data(), n);
      hash.Update(chunk);
      IMAB_RETURN_IF_ERROR(writer_.Write(chunk));
      total += n;
      if (total > entry.size) {
        break;
      }
    }
    if (total != entry.size) {
      return MakeError(ErrorCode::kIo,
                       entry.path + ": changed size while being read");
    }
    entry.sha256 = hash.Finish();
    static const std::array<uint8_t, kTarBlockBytes> kZeros{};
    return writer_.Write(std::span<const uint8_t>(
        kZeros.data(), TarPadding(entry.size)));
  }

  ZstdFileWriter& writer_;
  uint64_t created_;
  std::vector<uint8_t> buffer_;
  ImageTree tree_;
  uint64_t entries_ = 0;
  uint64_t files_ = 0;
  uint64_t content_bytes_ = 0;
};

std::string OutputFolder(const std::string& output) {
  std::filesystem::path parent = std::filesystem::path(output).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

Result<BuildSummary> BuildBundle(const BuildOptions& options,
                                 Reporter& reporter) {
  IMAB_RETURN_IF_ERROR(CheckOptions(options));
  IMAB_ASSIGN_OR_RETURN(
      SigningIdentity identity,
      LoadSigningIdentity(options.signing_key, options.signing_cert,
                          options.chain));
  IMAB_ASSIGN_OR_RETURN(AtomicOutput output,
                        AtomicOutput::Create(options.output));
  IMAB_ASSIGN_OR_RETURN(UniqueFd payload_fd,
                        CreateScratchFile(OutputFolder(options.output)));
  IMAB_ASSIGN_OR_RETURN(auto writer,
                        ZstdFileWriter::Create(payload_fd.get(),
                                               options.zstd_level,
                                               options.workers));
  IMAB_ASSIGN_OR_RETURN(auto source, OpenRootfs(options.rootfs, reporter));

  PayloadBuilder payload(*writer, options.created);
  std::string records;
  while (true) {
    IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> next, source->Next());
    if (!next.has_value()) {
      break;
    }
    IMAB_RETURN_IF_ERROR(payload.Add(*next, &records));
  }
  IMAB_RETURN_IF_ERROR(payload.Finish());
  if (payload.entries() > kMaxEntries) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "rootfs has more entries than the format allows");
  }

  ManifestHeader header;
  header.image_version = options.image_version;
  header.compatible = options.compatible;
  header.created = options.created;
  header.payload_size = writer->compressed_size();
  header.payload_sha256 = writer->compressed_sha256();
  header.entry_count = payload.entries();
  std::string manifest;
  manifest.reserve(records.size() + 512);
  AppendManifestHeader(header, &manifest);
  manifest += records;
  records.clear();
  records.shrink_to_fit();
  AppendManifestEnd(&manifest);
  if (manifest.size() > kMaxManifestBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "manifest would exceed " +
                         std::to_string(kMaxManifestBytes) + " bytes");
  }

  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> signature,
                        SignManifest(manifest, identity));
  IMAB_RETURN_IF_ERROR(WriteBundle(output.fd(), manifest, signature,
                                   payload_fd.get(), header.payload_size,
                                   options.created));
  IMAB_RETURN_IF_ERROR(output.Commit());

  BuildSummary summary;
  summary.entries = payload.entries();
  summary.files = payload.files();
  summary.content_bytes = payload.content_bytes();
  summary.payload_bytes = header.payload_size;
  summary.bundle_bytes = 3 * kTarBlockBytes + manifest.size() +
                         TarPadding(manifest.size()) + signature.size() +
                         TarPadding(signature.size()) + header.payload_size +
                         TarPadding(header.payload_size) + kTarEndBytes;
  return summary;
}

}  // namespace imab::builder
