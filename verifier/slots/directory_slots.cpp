#include "verifier/slots/directory_slots.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/read/atomic_file.h"
#include "verifier/boot/bootloader.h"
#include "verifier/device/slot_state_file.h"
#include "verifier/device/small_file.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier {
namespace {

namespace fs = std::filesystem;

std::string SlotFolderName(SlotId slot) {
  return std::string("slot-") + SlotName(slot);
}

Error IoError(const std::string& what, const std::error_code& ec) {
  return MakeError(ErrorCode::kIo, what + ": " + ec.message());
}

}  // namespace

std::vector<std::string> LeftoverNamesIn(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.find(kStagingInfix) != std::string::npos ||
        name.find(kTemporaryInfix) != std::string::npos) {
      names.push_back(name);
    }
  }
  return names;
}

Status DirectorySlots::Create(const std::string& dir, SlotId active) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(dir + "/" + kActivePointerName))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     dir + ": slots already initialised");
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return IoError(dir, ec);
  }
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    std::string path = dir + "/" + SlotFolderName(slot);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kIo, path + ": " + std::strerror(errno));
    }
  }
  IMAB_RETURN_IF_ERROR(SyncDirectory(dir));
  // The pointer comes last: until it exists the folder is not a device.
  return ReplaceSymlinkAtomically(dir + "/" + kActivePointerName,
                                  SlotFolderName(active));
}

Result<std::unique_ptr<DirectorySlots>> DirectorySlots::Open(
    const std::string& dir, Bootloader* bootloader) {
  if (!fs::is_symlink(fs::symlink_status(dir + "/" + kActivePointerName))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "slots not initialised: " + dir + "/" +
                         kActivePointerName +
                         " is missing (run imab-verify device init)");
  }
  return std::unique_ptr<DirectorySlots>(new DirectorySlots(dir, bootloader));
}

std::string DirectorySlots::SlotPath(SlotId slot) const {
  return dir_ + "/" + SlotFolderName(slot);
}

size_t DirectorySlots::PathReserve(const std::string& dir) {
  return DirectorySink::PathReserve(dir + "/" + SlotFolderName(SlotId::kA));
}

std::string DirectorySlots::StatePath(SlotId slot) const {
  return SlotPath(slot) + ".state";
}

bool DirectorySlots::SlotIsEmpty(SlotId slot) const {
  std::error_code ec;
  fs::path path = SlotPath(slot);
  return fs::is_directory(fs::symlink_status(path, ec)) &&
         fs::is_empty(path, ec) && !ec;
}

Result<SlotId> DirectorySlots::ActiveSlot() const {
  std::string pointer = dir_ + "/" + kActivePointerName;
  char target[64];
  ssize_t n = ::readlink(pointer.c_str(), target, sizeof target);
  if (n < 0) {
    return MakeError(ErrorCode::kIo, pointer + ": " + std::strerror(errno));
  }
  std::string name(target, static_cast<size_t>(n));
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    if (name == SlotFolderName(slot)) {
      return slot;
    }
  }
  // Anything else could point outside the slots folder.
  return MakeError(ErrorCode::kIo,
                   pointer + ": names '" + name + "', not slot-a or slot-b");
}

Result<std::optional<DeviceState>> DirectorySlots::ReadState(
    SlotId slot) const {
  return ReadSlotStateFile(StatePath(slot), SlotName(slot));
}

std::vector<std::string> DirectorySlots::LeftoverNames() const {
  return LeftoverNamesIn(dir_);
}

bool DirectorySlots::InactiveNeedsErasing(SlotId inactive) const {
  // What an interrupted install leaves must never be activated: a damaged
  // record, a record without its image, an image without its record.
  Result<std::optional<DeviceState>> state = ReadState(inactive);
  if (!state.has_value()) {
    return true;
  }
  if (state->has_value()) {
    return !fs::is_directory(fs::symlink_status(SlotPath(inactive)));
  }
  return !SlotIsEmpty(inactive);
}

Status DirectorySlots::EraseSlot(SlotId slot) {
  std::error_code ec;
  fs::remove_all(SlotPath(slot), ec);
  if (ec) {
    return IoError(SlotPath(slot), ec);
  }
  if (::mkdir(SlotPath(slot).c_str(), 0755) != 0) {
    return MakeError(ErrorCode::kIo,
                     SlotPath(slot) + ": " + std::strerror(errno));
  }
  return SyncDirectory(dir_);
}

Status DirectorySlots::CleanUp() {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  for (const std::string& name : LeftoverNames()) {
    std::error_code ec;
    fs::remove_all(dir_ + "/" + name, ec);
    if (ec) {
      return IoError(dir_ + "/" + name, ec);
    }
  }
  const SlotId inactive = OtherSlot(active);
  if (InactiveNeedsErasing(inactive)) {
    if (::unlink(StatePath(inactive).c_str()) != 0 && errno != ENOENT) {
      return MakeError(ErrorCode::kIo,
                       StatePath(inactive) + ": " + std::strerror(errno));
    }
    IMAB_RETURN_IF_ERROR(EraseSlot(inactive));
  }
  return SyncDirectory(dir_);
}

namespace {

// Writes the new image beside the inactive slot and replaces the slot only
// at Commit(), once every byte of the bundle verified and the new tree is
// on disk: a bundle refused at any point, even one changed while it is
// being installed, leaves the old inactive image (the fallback) and its
// state as they were.
class InactiveSlotSink : public EntrySink {
 public:
  InactiveSlotSink(DirectorySlots& slots, SlotId slot, Reporter& reporter)
      : slots_(slots), slot_(slot), reporter_(reporter) {}

  Status Start(const ManifestHeader& header) override {
    IMAB_ASSIGN_OR_RETURN(
        inner_, DirectorySink::CreateReplacing(
                    slots_.SlotPath(slot_), reporter_,
                    [this] { return slots_.PrepareForWrite(slot_); }));
    return inner_->Start(header);
  }
  Status Begin(const Entry& entry) override { return inner_->Begin(entry); }
  Status Content(std::span<const uint8_t> data) override {
    return inner_->Content(data);
  }
  Status End(const Entry& entry) override { return inner_->End(entry); }
  Status Commit() override {
    if (inner_ == nullptr) {
      return MakeError(ErrorCode::kInternal, "commit before start");
    }
    return inner_->Commit();
  }
  void Abort() override {
    if (inner_ != nullptr) {
      inner_->Abort();
    }
  }

 private:
  DirectorySlots& slots_;
  SlotId slot_;
  Reporter& reporter_;
  std::unique_ptr<DirectorySink> inner_;
};

}  // namespace

Status DirectorySlots::PrepareForWrite(SlotId slot) {
  IMAB_ASSIGN_OR_RETURN(SlotId inactive, InactiveSlot());
  if (slot != inactive) {
    return MakeError(ErrorCode::kInternal, "refusing to write the active slot");
  }
  // The boot loader first: from here on it never starts this slot, whatever
  // a crash leaves in it. Then the record: the slot counts as empty.
  if (bootloader_ != nullptr) {
    IMAB_RETURN_IF_ERROR(bootloader_->MarkBad(slot));
  }
  if (::unlink(StatePath(slot).c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kIo,
                     StatePath(slot) + ": " + std::strerror(errno));
  }
  IMAB_RETURN_IF_ERROR(SyncDirectory(dir_));
  if (!SlotIsEmpty(slot)) {
    IMAB_RETURN_IF_ERROR(EraseSlot(slot));
  }
  return OkStatus();
}

Result<std::unique_ptr<EntrySink>> DirectorySlots::OpenInactiveForWrite(
    Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(SlotId inactive, InactiveSlot());
  return std::unique_ptr<EntrySink>(
      std::make_unique<InactiveSlotSink>(*this, inactive, reporter));
}

Status DirectorySlots::Activate(const DeviceState& next) {
  IMAB_ASSIGN_OR_RETURN(SlotId inactive, InactiveSlot());
  if (!fs::is_directory(fs::symlink_status(SlotPath(inactive)))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     SlotPath(inactive) + ": no image to activate");
  }
  DeviceState state = next;
  state.active_slot = SlotName(inactive);
  // The record is written while the slot is still inactive, so it is in
  // force exactly when the pointer below names the slot: one rename(2)
  // switches image and state together.
  IMAB_RETURN_IF_ERROR(
      WriteFileAtomically(StatePath(inactive), EncodeSlotState(state)));
  // Then the boot loader starts it next, then the pointer says so: a crash
  // between the two leaves a primary slot that is complete.
  if (bootloader_ != nullptr) {
    IMAB_RETURN_IF_ERROR(bootloader_->SetPrimary(inactive));
  }
  return ReplaceSymlinkAtomically(dir_ + "/" + kActivePointerName,
                                  SlotFolderName(inactive));
}

Status DirectorySlots::RewriteState(SlotId slot, const DeviceState& state) {
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> old, ReadState(slot));
  if (!old.has_value() || state.active_slot != SlotName(slot)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StatePath(slot) + ": no record of slot " + SlotName(slot) +
                         " to rewrite");
  }
  return WriteFileAtomically(StatePath(slot), EncodeSlotState(state));
}

Status DirectorySlots::SetActive(SlotId slot) {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  if (slot == active) {
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> state, ReadState(slot));
  if (!state.has_value() ||
      !fs::is_directory(fs::symlink_status(SlotPath(slot)))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     SlotPath(slot) + ": no complete image to activate");
  }
  return ReplaceSymlinkAtomically(dir_ + "/" + kActivePointerName,
                                  SlotFolderName(slot));
}

std::vector<std::string> DirectorySlots::CheckConsistency() const {
  Result<SlotId> active = ActiveSlot();
  if (!active.has_value()) {
    return {active.error().message};
  }
  std::vector<std::string> problems;
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    Result<std::optional<DeviceState>> state = ReadState(slot);
    bool folder = fs::is_directory(fs::symlink_status(SlotPath(slot)));
    if (!state.has_value()) {
      problems.push_back(state.error().message);
      continue;
    }
    if (slot == *active && !folder) {
      problems.push_back("active slot " + SlotPath(slot) + " is missing");
    }
    if (slot == *active && !state->has_value() && !SlotIsEmpty(slot)) {
      problems.push_back("active slot " + SlotPath(slot) +
                         " holds files but no state");
    }
    if (state->has_value() && !folder) {
      problems.push_back(StatePath(slot) + " describes a missing slot");
    }
  }
  return problems;
}

std::vector<std::string> DirectorySlots::PendingCleanUp() const {
  std::vector<std::string> pending = LeftoverNames();
  Result<SlotId> inactive = InactiveSlot();
  if (inactive.has_value() && InactiveNeedsErasing(*inactive)) {
    pending.push_back(SlotFolderName(*inactive) + " (incomplete image)");
  }
  return pending;
}

}  // namespace imab::verifier
