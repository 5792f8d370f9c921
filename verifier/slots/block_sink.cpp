#include "verifier/slots/block_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "verifier/boot/bootloader.h"
#include "verifier/slots/image_readback.h"
#include "verifier/slots/make_ext4.h"
#include "verifier/slots/private_mounts.h"

namespace imab::verifier {

BlockSlotSink::~BlockSlotSink() { Abort(); }

std::string BlockSlotSink::Describe() const {
  return std::string("slot ") + SlotName(slot_) + " (" +
         slots_.PartitionOf(slot_).path + ")";
}

// From here on the slot holds no image: the boot loader must not start
// it, its record goes, then its file system.
Status BlockSlotSink::Erase() {
  if (Bootloader* bootloader = slots_.bootloader()) {
    IMAB_RETURN_IF_ERROR(bootloader->MarkBad(slot_));
  }
  IMAB_RETURN_IF_ERROR(slots_.DropState(slot_));
  IMAB_RETURN_IF_ERROR(EnterPrivateMountNamespace());
  reporter_.Info("formatting " + Describe());
  return MakeExt4(slots_.PartitionOf(slot_).path, slots_.mkfs_options());
}

// The DirectorySink writes into its staging folder beside the mount
// folder; the fresh file system is mounted over that staging folder, so
// every entry lands at its root. At Commit() the sink syncs it, and
// `clear_target` (run just before its rename) unmounts it: what is
// renamed over the mount folder is the empty staging folder.
Status BlockSlotSink::OpenWriter(const ManifestHeader& header) {
  IMAB_ASSIGN_OR_RETURN(
      std::unique_ptr<DirectorySink> directory,
      DirectorySink::CreateReplacing(
          slots_.MountFolder(slot_), reporter_, [this]() -> Status {
            // The sink's own descriptor on the root is still open.
            IMAB_RETURN_IF_ERROR(Unmount(staging_, true));
            mounted_rw_ = false;
            return OkStatus();
          }));
  directory_ = directory.get();
  writer_ = std::move(directory);
  if (slots_.writer_wrapper()) {
    writer_ = slots_.writer_wrapper()(std::move(writer_));
  }
  IMAB_RETURN_IF_ERROR(writer_->Start(header));
  staging_ = directory_->staging_path();
  IMAB_RETURN_IF_ERROR(
      MountExt4(slots_.PartitionOf(slot_).path, staging_, false));
  mounted_rw_ = true;
  // mkfs's lost+found is no entry: the read-back would count it extra.
  const std::string lost = staging_ + "/lost+found";
  if (::rmdir(lost.c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kIo, lost + ": " + std::strerror(errno));
  }
  return OkStatus();
}

namespace {
// Records reserved up front at most (a few MiB); more still fit, by growth.
constexpr uint64_t kMaxReservedRecords = 1u << 16;
}  // namespace

Status BlockSlotSink::Start(const ManifestHeader& header) {
  // One allocation for the records: growing by doubling would hold the
  // old and the new array at once. Bounded: the count is signed, but a
  // manifest's own size limits how many entries can follow.
  entries_.reserve(std::min<uint64_t>(header.entry_count, kMaxReservedRecords));
  IMAB_RETURN_IF_ERROR(Erase());
  return OpenWriter(header);
}

Status BlockSlotSink::Begin(const Entry& entry) {
  return writer_->Begin(entry);
}

Status BlockSlotSink::Content(std::span<const uint8_t> data) {
  return writer_->Content(data);
}

Status BlockSlotSink::End(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(writer_->End(entry));
  IMAB_ASSIGN_OR_RETURN(Entry record, ReadBackRecord(entry));
  entries_.push_back(std::move(record));
  return OkStatus();
}

Status BlockSlotSink::ReadBack() {
  const std::string folder = slots_.MountFolder(slot_);
  IMAB_RETURN_IF_ERROR(MountExt4(slots_.PartitionOf(slot_).path, folder, true));
  mounted_ro_ = true;
  Status same = ReadBackImage(folder, entries_, Describe());
  Status unmounted = Unmount(folder, false);
  if (unmounted.ok()) {
    mounted_ro_ = false;
  }
  IMAB_RETURN_IF_ERROR(same);
  return unmounted;
}

Status BlockSlotSink::Commit() {
  if (writer_ == nullptr) {
    return MakeError(ErrorCode::kInternal, "commit before start");
  }
  // Folder modes, fsyncs and syncfs, then the unmount (clear_target).
  IMAB_RETURN_IF_ERROR(writer_->Commit());
  staging_.clear();
  reporter_.Info("reading back " + Describe());
  IMAB_RETURN_IF_ERROR(ReadBack());
  done_ = true;
  slots_.MarkWritten(slot_);
  return OkStatus();
}

void BlockSlotSink::UnmountAll() {
  if (mounted_rw_ && Unmount(staging_, true).ok()) {
    mounted_rw_ = false;
  }
  if (mounted_ro_ && Unmount(slots_.MountFolder(slot_), true).ok()) {
    mounted_ro_ = false;
  }
}

void BlockSlotSink::Abort() {
  if (done_) {
    return;
  }
  // Unmounted first, so that the writer's clean-up removes only its empty
  // staging folder, not the half-written slot file by file.
  UnmountAll();
  if (writer_ != nullptr) {
    writer_->Abort();
  }
  writer_.reset();
  directory_ = nullptr;
}

}  // namespace imab::verifier
