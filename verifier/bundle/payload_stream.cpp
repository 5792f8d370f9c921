#include "verifier/bundle/payload_stream.h"

#include <string>
#include <vector>

#include "common/read/bytes.h"
#include "common/read/content_hasher.h"
#include "common/read/hash_algo.h"
#include "common/read/image_tree.h"
#include "common/read/printable.h"
#include "common/read/tar_header.h"

namespace imab::verifier {
namespace {

std::string Where(uint64_t index, const Entry& entry) {
  return "entry " + std::to_string(index) + " '" + Printable(entry.path) + "'";
}

// Reads `expected.size()` bytes and compares them with `expected`.
Status ExpectBytes(ZstdRegionReader& payload, std::string_view expected,
                   std::vector<uint8_t>& scratch, const std::string& where) {
  scratch.resize(expected.size());
  Status read = payload.ReadExact(scratch);
  if (!read.ok()) {
    return WithContext(std::move(read).error(), where);
  }
  std::string_view actual(reinterpret_cast<const char*>(scratch.data()),
                          scratch.size());
  if (actual != expected) {
    return MakeError(ErrorCode::kMalformed,
                     where + ": payload " +
                         DescribeHeaderDifference(expected, actual) +
                         " differs from the manifest");
  }
  return OkStatus();
}

// Hashes content with SHA-256 and, when the IMA check needs another
// algorithm, with that one too, in the same pass.
Status CheckContent(ZstdRegionReader& payload, const Entry& entry,
                    std::optional<HashAlgo> ima_algo, EntrySink& sink,
                    InitramfsCheck& initramfs, CaStoreCheck& ca_store,
                    const std::string& where,
                    std::vector<uint8_t>& ima_digest) {
  IMAB_ASSIGN_OR_RETURN(ContentHasher hash, ContentHasher::Create(ima_algo));
  uint64_t left = entry.size;
  while (left > 0) {
    Result<std::span<const uint8_t>> read = payload.ReadSome(
        static_cast<size_t>(std::min<uint64_t>(left, 1u << 20)));
    if (!read.has_value()) {
      return WithContext(std::move(read).error(), where);
    }
    std::span<const uint8_t> chunk = *read;
    hash.Update(chunk);
    initramfs.Feed(chunk);
    ca_store.Feed(chunk);
    IMAB_RETURN_IF_ERROR(sink.Content(chunk));
    left -= chunk.size();
  }
  if (!DigestEquals(hash.Finish(&ima_digest), entry.sha256)) {
    return MakeError(ErrorCode::kDigestMismatch,
                     where + ": content SHA-256 differs from the manifest");
  }
  std::array<uint8_t, kTarBlockBytes> pad{};
  std::span<uint8_t> pad_bytes(pad.data(), TarPadding(entry.size));
  Status padded = payload.ReadExact(pad_bytes);
  if (!padded.ok()) {
    return WithContext(std::move(padded).error(), where);
  }
  if (!AllZero(pad_bytes)) {
    return MakeError(ErrorCode::kMalformed,
                     where + ": non-zero padding after content");
  }
  return OkStatus();
}

}  // namespace

Status CheckPayload(ManifestReader& manifest, ZstdRegionReader& payload,
                    uint64_t created, const ImaChecker& checker,
                    IntegrityPool& integrity, InitramfsCheck& initramfs,
                    CaStoreCheck& ca_store, EntrySink& sink,
                    PayloadStats& stats) {
  ImageTree tree;
  std::vector<uint8_t> scratch;
  std::vector<uint8_t> ima_digest;
  while (true) {
    IMAB_ASSIGN_OR_RETURN(std::optional<Entry> next, manifest.Next());
    if (!next.has_value()) {
      break;
    }
    Entry& entry = *next;
    std::string where = Where(stats.entries, entry);
    Status admitted = tree.Admit(entry);
    if (!admitted.ok()) {
      return WithContext(std::move(admitted).error(),
                         "entry " + std::to_string(stats.entries));
    }
    if (entry.type == EntryType::kHardlink) {
      const ImageTree::Node* target = tree.FindNode(entry.link_target);
      entry.mode = target->mode;  // Admit() proved the target is a file
      entry.uid = target->uid;
      entry.gid = target->gid;
    }
    IMAB_RETURN_IF_ERROR(ExpectBytes(payload, EncodeEntryHeader(entry, created),
                                     scratch, where));
    IMAB_RETURN_IF_ERROR(sink.Begin(entry));
    IMAB_RETURN_IF_ERROR(initramfs.Begin(entry));
    IMAB_RETURN_IF_ERROR(ca_store.Begin(entry));
    ima_digest.clear();
    if (entry.type == EntryType::kFile) {
      IMAB_RETURN_IF_ERROR(
          CheckContent(payload, entry, checker.ContentDigestAlgo(entry), sink,
                       initramfs, ca_store, where, ima_digest));
      ++stats.files;
      stats.content_bytes += entry.size;
    }
    IMAB_RETURN_IF_ERROR(initramfs.End(entry));
    ca_store.End(entry);
    IMAB_RETURN_IF_ERROR(sink.End(entry));
    integrity.Submit(std::move(entry), std::move(ima_digest));
    ima_digest = {};
    ++stats.entries;
  }
  IMAB_RETURN_IF_ERROR(initramfs.Finish());
  scratch.resize(kTarEndBytes);
  Status read = payload.ReadExact(scratch);
  if (!read.ok()) {
    return WithContext(std::move(read).error(), "end of payload");
  }
  if (!AllZero(scratch)) {
    // Most likely an entry the manifest does not list.
    return MakeError(ErrorCode::kMalformed,
                     "payload: data where the end-of-archive blocks belong "
                     "(an entry not in the manifest?)");
  }
  return OkStatus();
}

}  // namespace imab::verifier
