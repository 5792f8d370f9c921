#include "common/read/zstd_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "common/read/limits.h"

namespace imab {
namespace {

Error ZstdError(ErrorCode code, const char* what, size_t rc) {
  return MakeError(code, std::string(what) + ": " + ZSTD_getErrorName(rc));
}

}  // namespace

namespace {

// FORMAT.md §4.1: the payload starts with a zstd frame (not a skippable
// one) whose Frame_Header_Descriptor (RFC 8878 §3.1.1.1.1) has the
// Content_Checksum_Flag (bit 2) set. Without it a corrupted frame would
// only be caught by the payload digest at the very end.
Status CheckFrameHeader(std::span<const uint8_t> start) {
  constexpr uint8_t kMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};  // 0xFD2FB528 LE
  constexpr uint8_t kContentChecksumFlag = 1u << 2;
  if (start.size() < 5 ||
      !std::equal(start.begin(), start.begin() + 4, std::begin(kMagic))) {
    return MakeError(ErrorCode::kMalformed,
                     "payload: does not start with a zstd frame");
  }
  if ((start[4] & kContentChecksumFlag) == 0) {
    return MakeError(ErrorCode::kMalformed,
                     "payload: zstd frame has no content checksum "
                     "(FORMAT.md 4.1)");
  }
  return OkStatus();
}

}  // namespace

struct ZstdRegionReader::Shared {
  ByteSource* source = nullptr;
  uint64_t offset = 0;
  uint64_t size = 0;
  Ptr<ZSTD_DCtx> dctx;
  std::optional<Sha256> hash;

  std::mutex mu;
  std::condition_variable changed;
  std::vector<uint8_t> slots[kRingChunks];
  size_t slot_fill[kRingChunks] = {};
  uint64_t produced = 0;  // slots published so far
  uint64_t consumed = 0;  // slots released by the consumer
  bool done = false;      // producer finished (cleanly or with error)
  bool stop = false;      // consumer gave up; producer must exit
  std::optional<Error> error;
  Sha256Digest digest{};
  std::thread producer;

  void Run();
  Status Produce();
  // Blocks until a slot is free; nullptr when asked to stop.
  std::vector<uint8_t>* AcquireSlot();
  void Publish(size_t fill);
};

std::vector<uint8_t>* ZstdRegionReader::Shared::AcquireSlot() {
  std::unique_lock<std::mutex> lock(mu);
  changed.wait(lock, [&] { return stop || produced - consumed < kRingChunks; });
  if (stop) {
    return nullptr;
  }
  return &slots[produced % kRingChunks];
}

void ZstdRegionReader::Shared::Publish(size_t fill) {
  std::lock_guard<std::mutex> lock(mu);
  slot_fill[produced % kRingChunks] = fill;
  ++produced;
  changed.notify_all();
}

Status ZstdRegionReader::Shared::Produce() {
  std::vector<uint8_t> in_buf(kStreamChunkBytes);
  ZSTD_inBuffer in{in_buf.data(), 0, 0};
  uint64_t read_pos = 0;
  bool frame_done = false;
  std::vector<uint8_t>* slot = AcquireSlot();
  size_t fill = 0;
  while (slot != nullptr) {
    if (in.pos == in.size && read_pos < size && !frame_done) {
      size_t n = static_cast<size_t>(
          std::min<uint64_t>(in_buf.size(), size - read_pos));
      IMAB_RETURN_IF_ERROR(source->ReadAt(
          offset + read_pos, std::span<uint8_t>(in_buf.data(), n)));
      hash->Update(std::span<const uint8_t>(in_buf.data(), n));
      if (read_pos == 0) {
        IMAB_RETURN_IF_ERROR(
            CheckFrameHeader(std::span<const uint8_t>(in_buf.data(), n)));
      }
      read_pos += n;
      in = ZSTD_inBuffer{in_buf.data(), n, 0};
    }
    ZSTD_outBuffer out{slot->data() + fill, slot->size() - fill, 0};
    size_t rc = frame_done ? 0 : ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc)) {
      return ZstdError(ErrorCode::kMalformed, "payload", rc);
    }
    fill += out.pos;
    bool slot_full = fill == slot->size();
    if (rc == 0) {
      frame_done = true;
    }
    if (slot_full || (frame_done && fill > 0)) {
      Publish(fill);
      fill = 0;
      slot = AcquireSlot();
      continue;
    }
    if (frame_done) {
      // A second frame or stray bytes would be unsigned payload content.
      if (in.pos != in.size || read_pos != size) {
        return MakeError(ErrorCode::kMalformed,
                         "payload: bytes after the end of the zstd frame");
      }
      return OkStatus();
    }
    if (in.pos == in.size && read_pos == size && out.pos == 0) {
      return MakeError(ErrorCode::kMalformed, "payload: zstd frame truncated");
    }
  }
  return OkStatus();  // stopped by the consumer
}

void ZstdRegionReader::Shared::Run() {
  Status status = Produce();
  std::lock_guard<std::mutex> lock(mu);
  if (!status.ok()) {
    error = status.error();
  } else {
    digest = hash->Finish();
  }
  done = true;
  changed.notify_all();
}

Result<std::unique_ptr<ZstdRegionReader>> ZstdRegionReader::Open(
    ByteSource& source, uint64_t offset, uint64_t size) {
  auto shared = std::make_unique<Shared>();
  shared->source = &source;
  shared->offset = offset;
  shared->size = size;
  shared->dctx.reset(ZSTD_createDCtx());
  if (shared->dctx == nullptr) {
    return MakeError(ErrorCode::kInternal, "zstd: cannot create context");
  }
  // The frame header declares its window; refuse, rather than allocate, one
  // larger than the verifier's memory budget allows.
  size_t rc = ZSTD_DCtx_setParameter(shared->dctx.get(), ZSTD_d_windowLogMax,
                                     kMaxZstdWindowLog);
  if (ZSTD_isError(rc)) {
    return ZstdError(ErrorCode::kInternal, "zstd parameter", rc);
  }
  IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  shared->hash.emplace(std::move(hash));
  for (auto& slot : shared->slots) {
    slot.resize(kRingChunkBytes);
  }
  Shared* raw = shared.get();
  shared->producer = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<ZstdRegionReader>(
      new ZstdRegionReader(std::move(shared)));
}

ZstdRegionReader::ZstdRegionReader(std::unique_ptr<Shared> shared)
    : shared_(std::move(shared)) {}

ZstdRegionReader::~ZstdRegionReader() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
    shared_->changed.notify_all();
  }
  shared_->producer.join();
}

Result<bool> ZstdRegionReader::NextChunk() {
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (current_.data() != nullptr) {
    ++s.consumed;  // release the slot current_ pointed into
    current_ = {};
    s.changed.notify_all();
  }
  s.changed.wait(lock, [&] { return s.produced > s.consumed || s.done; });
  if (s.produced > s.consumed) {
    size_t index = s.consumed % kRingChunks;
    current_ =
        std::span<const uint8_t>(s.slots[index].data(), s.slot_fill[index]);
    return true;
  }
  if (s.error.has_value()) {
    return *s.error;
  }
  return false;
}

Result<std::span<const uint8_t>> ZstdRegionReader::ReadSome(size_t max) {
  while (current_.empty()) {
    IMAB_ASSIGN_OR_RETURN(bool more, NextChunk());
    if (!more) {
      return MakeError(ErrorCode::kMalformed, "payload ends early");
    }
  }
  size_t n = std::min(max, current_.size());
  std::span<const uint8_t> out = current_.first(n);
  current_ = current_.subspan(n);
  if (current_.empty()) {
    // Keep data() pointing into the slot so NextChunk() releases it.
    current_ = std::span<const uint8_t>(out.data() + n, size_t{0});
  }
  return out;
}

Status ZstdRegionReader::ReadExact(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    IMAB_ASSIGN_OR_RETURN(auto chunk, ReadSome(out.size() - done));
    std::memcpy(out.data() + done, chunk.data(), chunk.size());
    done += chunk.size();
  }
  return OkStatus();
}

Result<Sha256Digest> ZstdRegionReader::Finish() {
  if (!current_.empty()) {
    return MakeError(ErrorCode::kMalformed,
                     "payload: data after the end-of-archive blocks");
  }
  IMAB_ASSIGN_OR_RETURN(bool more, NextChunk());
  if (more) {
    return MakeError(ErrorCode::kMalformed,
                     "payload: data after the end-of-archive blocks");
  }
  return shared_->digest;
}

}  // namespace imab
