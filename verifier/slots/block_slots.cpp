#include "verifier/slots/block_slots.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/read/atomic_file.h"
#include "verifier/boot/bootloader.h"
#include "verifier/device/slot_state_file.h"
#include "verifier/device/small_file.h"
#include "verifier/slots/block_sink.h"
#include "verifier/slots/directory_sink.h"
#include "verifier/slots/directory_slots.h"

namespace imab::verifier {
namespace {

namespace fs = std::filesystem;

std::string SlotFolderName(SlotId slot) {
  return std::string("slot-") + SlotName(slot);
}

Error SysError(ErrorCode code, const std::string& what) {
  return MakeError(code, what + ": " + std::strerror(errno));
}

Status MakeFolder(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return SysError(ErrorCode::kIo, path);
  }
  return OkStatus();
}

}  // namespace

Status CheckStateDirOffSlots(const std::string& state_dir, const Partition& a,
                             const Partition& b) {
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0) {
    return SysError(ErrorCode::kInvalidArgument, "state-dir " + state_dir);
  }
  for (const Partition* part : {&a, &b}) {
    if (!part->path.empty() && st.st_dev == part->rdev) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "state-dir " + state_dir + " is on slot partition " +
                           part->path + " (" + part->spelling +
                           "): it must be on a data partition both slots "
                           "mount");
    }
  }
  return OkStatus();
}

Status BlockSlots::Create(const std::string& state_dir, SlotId active) {
  const std::string pointer = state_dir + "/" + kActivePointerName;
  struct stat st {};
  if (::lstat(pointer.c_str(), &st) == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     state_dir + ": slots already initialised");
  }
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, state_dir + ": " + ec.message());
  }
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    IMAB_RETURN_IF_ERROR(MakeFolder(state_dir + "/" + SlotFolderName(slot)));
  }
  IMAB_RETURN_IF_ERROR(SyncDirectory(state_dir));
  // The pointer comes last: until it exists the folder is not a device.
  return WriteFileAtomically(pointer, std::string(SlotName(active)) + "\n");
}

Result<std::unique_ptr<BlockSlots>> BlockSlots::Open(
    const std::string& state_dir, Partition a, Partition b,
    Bootloader* bootloader) {
  const std::string pointer = state_dir + "/" + kActivePointerName;
  struct stat st {};
  if (::lstat(pointer.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "slots not initialised: " + pointer +
                         " is missing (run imab-verify device init)");
  }
  if (a.rdev == b.rdev) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "slot-a " + a.spelling + " and slot-b " + b.spelling +
                         " are the same partition " + a.path);
  }
  IMAB_RETURN_IF_ERROR(CheckStateDirOffSlots(state_dir, a, b));
  return std::unique_ptr<BlockSlots>(
      new BlockSlots(state_dir, std::move(a), std::move(b), bootloader));
}

Result<std::unique_ptr<BlockSlots>> BlockSlots::Open(const DeviceConfig& config,
                                                     Bootloader* bootloader) {
  Result<std::string> dir = DevicePath(config, config.boot.state_dir);
  if (!dir.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "slots not initialised: " + dir.error().message);
  }
  // A partition that cannot be found does not stop `status`: it is listed
  // (CheckConsistency) and refuses every write.
  std::vector<std::string> problems;
  auto look_up = [&problems](const std::string& spelling) {
    Result<Partition> found = LookUpPartition(spelling);
    if (found.has_value()) {
      return *found;
    }
    problems.push_back(found.error().message);
    return Partition{spelling, "", 0};
  };
  Partition a = look_up(config.boot.slot_a);
  Partition b = look_up(config.boot.slot_b);
  std::unique_ptr<BlockSlots> slots;
  if (problems.empty()) {
    IMAB_ASSIGN_OR_RETURN(slots,
                          Open(*dir, std::move(a), std::move(b), bootloader));
  } else {
    const std::string pointer = *dir + "/" + kActivePointerName;
    struct stat st {};
    if (::lstat(pointer.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "slots not initialised: " + pointer + " is missing");
    }
    slots.reset(new BlockSlots(*dir, std::move(a), std::move(b), bootloader));
    slots->lookup_problems_ = std::move(problems);
  }
  slots->SetMkfsOptions(config.boot.mkfs_options);
  return slots;
}

Status BlockSlots::CheckPartitionsFound() const {
  if (lookup_problems_.empty()) {
    return OkStatus();
  }
  return MakeError(ErrorCode::kInvalidArgument, lookup_problems_.front());
}

std::string BlockSlots::StatePath(SlotId slot) const {
  return dir_ + "/" + SlotFolderName(slot) + ".state";
}

std::string BlockSlots::MountFolder(SlotId slot) const {
  return dir_ + "/" + SlotFolderName(slot);
}

size_t BlockSlots::ImagePathReserve() const {
  return DirectorySink::PathReserve(MountFolder(SlotId::kA));
}

Result<SlotId> BlockSlots::ActiveSlot() const {
  const std::string pointer = dir_ + "/" + kActivePointerName;
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadSmallFile(pointer, kMaxPointerBytes));
  if (!text.has_value()) {
    return MakeError(ErrorCode::kIo, pointer + ": missing");
  }
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    if (*text == std::string(SlotName(slot)) + "\n") {
      return slot;
    }
  }
  return MakeError(ErrorCode::kIo, pointer + ": names neither a nor b");
}

Result<std::optional<DeviceState>> BlockSlots::ReadState(SlotId slot) const {
  return ReadSlotStateFile(StatePath(slot), SlotName(slot));
}

std::vector<std::string> BlockSlots::LeftoverNames() const {
  return LeftoverNamesIn(dir_);
}

Status BlockSlots::CleanUp() {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  // Staging folders are empty mount points once their namespace is gone.
  for (const std::string& name : LeftoverNames()) {
    std::error_code ec;
    fs::remove_all(dir_ + "/" + name, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, dir_ + "/" + name + ": " + ec.message());
    }
  }
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    IMAB_RETURN_IF_ERROR(MakeFolder(MountFolder(slot)));
  }
  // An inactive slot without a record is empty, whatever its partition
  // holds: the next install formats it. A damaged record goes.
  const SlotId inactive = OtherSlot(active);
  if (!ReadState(inactive).has_value()) {
    IMAB_RETURN_IF_ERROR(DropState(inactive));
  }
  return SyncDirectory(dir_);
}

Status BlockSlots::DropState(SlotId slot) {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  if (slot == active) {
    return MakeError(ErrorCode::kInternal,
                     "refusing to drop the active slot's state");
  }
  if (::unlink(StatePath(slot).c_str()) != 0 && errno != ENOENT) {
    return SysError(ErrorCode::kIo, StatePath(slot));
  }
  return SyncDirectory(dir_);
}

Result<std::unique_ptr<EntrySink>> BlockSlots::OpenInactiveForWrite(
    Reporter& reporter) {
  IMAB_RETURN_IF_ERROR(CheckPartitionsFound());
  IMAB_ASSIGN_OR_RETURN(SlotId inactive, InactiveSlot());
  written_.reset();
  return std::unique_ptr<EntrySink>(
      std::make_unique<BlockSlotSink>(*this, inactive, reporter));
}

Status BlockSlots::WritePointer(SlotId slot) {
  return WriteFileAtomically(dir_ + "/" + kActivePointerName,
                             std::string(SlotName(slot)) + "\n");
}

Status BlockSlots::Activate(const DeviceState& next) {
  IMAB_ASSIGN_OR_RETURN(SlotId inactive, InactiveSlot());
  if (written_ != inactive) {
    return MakeError(ErrorCode::kInvalidArgument,
                     PartitionOf(inactive).path +
                         ": no image written and read back to activate");
  }
  DeviceState state = next;
  state.active_slot = SlotName(inactive);
  // Record, boot loader, pointer (slot_backend.h): a crash after the
  // record leaves a complete slot nothing starts; after SetPrimary the
  // boot loader starts the new, complete slot.
  IMAB_RETURN_IF_ERROR(
      WriteFileAtomically(StatePath(inactive), EncodeSlotState(state)));
  if (bootloader_ != nullptr) {
    IMAB_RETURN_IF_ERROR(bootloader_->SetPrimary(inactive));
  }
  return WritePointer(inactive);
}

Status BlockSlots::SetActive(SlotId slot) {
  IMAB_RETURN_IF_ERROR(CheckPartitionsFound());
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  if (slot == active) {
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> state, ReadState(slot));
  if (!state.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("slot ") + SlotName(slot) + " (" +
                         PartitionOf(slot).path +
                         "): no complete image to activate");
  }
  return WritePointer(slot);
}

Status BlockSlots::RewriteState(SlotId slot, const DeviceState& state) {
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> current, ReadState(slot));
  if (!current.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StatePath(slot) + ": no record to rewrite");
  }
  if (state.active_slot != SlotName(slot)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     StatePath(slot) + ": a state of slot " +
                         state.active_slot + " cannot replace it");
  }
  return WriteFileAtomically(StatePath(slot), EncodeSlotState(state));
}

std::vector<std::string> BlockSlots::CheckConsistency() const {
  Result<SlotId> active = ActiveSlot();
  if (!active.has_value()) {
    return {active.error().message};
  }
  std::vector<std::string> problems = lookup_problems_;
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    Result<std::optional<DeviceState>> state = ReadState(slot);
    if (!state.has_value()) {
      problems.push_back(state.error().message);
    }
  }
  Status off_slots = CheckStateDirOffSlots(dir_, a_, b_);
  if (!off_slots.ok()) {
    problems.push_back(off_slots.error().message);
  }
  return problems;
}

std::vector<std::string> BlockSlots::PendingCleanUp() const {
  std::vector<std::string> pending = LeftoverNames();
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    if (!fs::is_directory(fs::symlink_status(MountFolder(slot)))) {
      pending.push_back(SlotFolderName(slot) + "/ (missing mount folder)");
    }
  }
  Result<SlotId> inactive = InactiveSlot();
  if (inactive.has_value() && !ReadState(*inactive).has_value()) {
    pending.push_back(SlotFolderName(*inactive) + ".state (damaged record)");
  }
  return pending;
}

}  // namespace imab::verifier
