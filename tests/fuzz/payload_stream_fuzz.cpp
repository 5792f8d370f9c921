// Fuzz target for CheckPayload (FORMAT.md §4.2, §6 steps 3-4), the lockstep
// walk of manifest records and decompressed payload: each tar header is
// compared with the one the record implies, each content with its digest,
// initramfs keys and the CA store with their sections. The input is a
// manifest, the line "IMABFUZZ-PAYLOAD", then the uncompressed payload,
// which the target compresses as the builder does (one frame with a
// content checksum), so mutations land in the tar stream rather than in
// zstd. Any input is walked or refused without a crash.
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/integrity_check.h"
#include "common/read/manifest_reader.h"
#include "common/read/zstd_stream.h"
#include "tests/testutil/memory_byte_source.h"
#include "verifier/bundle/ca_store_check.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/bundle/initramfs_check.h"
#include "verifier/bundle/integrity_pool.h"
#include "verifier/bundle/payload_stream.h"

namespace {

constexpr std::string_view kSeparator = "IMABFUZZ-PAYLOAD\n";

// One zstd frame with the content checksum FORMAT.md §4.1 requires.
std::vector<uint8_t> Compress(std::span<const uint8_t> plain) {
  std::vector<uint8_t> out(ZSTD_compressBound(plain.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  size_t n =
      ZSTD_compress2(cctx, out.data(), out.size(), plain.data(), plain.size());
  ZSTD_freeCCtx(cctx);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

void Walk(imab::ManifestReader& manifest, imab::ByteSource& compressed) {
  auto payload = imab::ZstdRegionReader::Open(compressed, 0, compressed.size());
  if (!payload.has_value()) {
    return;
  }
  const imab::ManifestHeader& header = manifest.header();
  auto checker = imab::ImaChecker::Create(header.ima);
  if (!checker.has_value()) {
    return;
  }
  imab::verifier::IntegrityPool integrity(*checker, 1);
  imab::verifier::InitramfsCheck initramfs(header);
  imab::verifier::CaStoreCheck ca_store(header.ca_store);
  imab::verifier::NullSink sink;
  imab::verifier::PayloadStats stats;
  imab::Status walked = imab::verifier::CheckPayload(
      manifest, **payload, header.created, *checker, integrity, initramfs,
      ca_store, sink, stats);
  (void)integrity.Finish();
  if (walked.ok()) {
    (void)(*payload)->Finish();
    (void)manifest.Finish();
    (void)ca_store.Finish();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find(kSeparator);
  if (split == std::string_view::npos) {
    return 0;
  }
  imab::MemoryByteSource manifest_bytes(
      std::vector<uint8_t>(data, data + split));
  auto manifest = imab::ManifestReader::Open(manifest_bytes, 0, split);
  if (!manifest.has_value()) {
    return 0;
  }
  const size_t start = split + kSeparator.size();
  imab::MemoryByteSource compressed(
      Compress(std::span<const uint8_t>(data + start, size - start)));
  Walk(**manifest, compressed);
  return 0;
}
