#include "verifier/boot/grub_bootloader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/read/atomic_file.h"
#include "common/read/handles.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {

namespace {

// The unit a disk writes whole; a rewrite confined to it leaves the old
// block or the new one after a crash.
constexpr size_t kSectorBytes = 512;

// Ours, in the order they lead the block.
const std::vector<std::string>& OurVariables() {
  static const std::vector<std::string> kNames = {"ORDER", "A_OK", "A_TRY",
                                                  "B_OK", "B_TRY"};
  return kNames;
}

std::string Letter(SlotId slot) { return slot == SlotId::kA ? "A" : "B"; }

Error Io(const std::string& path, const std::string& what) {
  return MakeError(ErrorCode::kIo, "grubenv " + path + ": " + what);
}

// X_OK or X_TRY: 0 or 1, 0 when unset (the snippet's default).
Result<bool> Flag(const GrubEnv& env, const std::string& name,
                  const std::string& path) {
  const std::string* value = env.Find(name);
  if (value == nullptr || *value == "0") {
    return false;
  }
  if (*value == "1") {
    return true;
  }
  return Io(path, name + "=\"" + *value + "\", expected 0 or 1");
}

}  // namespace

Result<GrubBootloader::Loaded> GrubBootloader::Load() const {
  // One byte more than a block, so that an overlong file shows as such.
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        ReadSmallFile(path_, kGrubEnvBytes + 1));
  if (!bytes.has_value()) {
    return Io(path_, "does not exist");
  }
  Result<GrubEnv> env = GrubEnv::Parse(*bytes, "grubenv " + path_);
  if (!env.has_value()) {
    return MakeError(ErrorCode::kIo, std::move(env).error().message);
  }
  return Loaded{std::move(*bytes), std::move(*env)};
}

Result<SlotId> GrubBootloader::Primary() const {
  IMAB_ASSIGN_OR_RETURN(Loaded loaded, Load());
  const std::string* order = loaded.env.Find("ORDER");
  if (order == nullptr || *order == "A B") {
    return SlotId::kA;
  }
  if (*order == "B A") {
    return SlotId::kB;
  }
  return Io(path_, "ORDER=\"" + *order + "\", expected \"A B\" or \"B A\"");
}

Result<BootSlotStatus> GrubBootloader::SlotStatus(SlotId slot) const {
  IMAB_ASSIGN_OR_RETURN(Loaded loaded, Load());
  IMAB_ASSIGN_OR_RETURN(bool ok, Flag(loaded.env, Letter(slot) + "_OK", path_));
  IMAB_ASSIGN_OR_RETURN(bool tried,
                        Flag(loaded.env, Letter(slot) + "_TRY", path_));
  BootSlotStatus status;
  status.bootable = ok && !tried;
  status.confirmed = ok && !tried;
  status.attempts_left = ok && !tried ? 1u : 0u;
  return status;
}

Status GrubBootloader::SetPrimary(SlotId slot) {
  const std::string x = Letter(slot);
  return Update({{"ORDER", x + " " + Letter(OtherSlot(slot))},
                 {x + "_OK", "1"},
                 {x + "_TRY", "0"}});
}

Status GrubBootloader::MarkGood(SlotId slot) {
  return Update({{Letter(slot) + "_OK", "1"}, {Letter(slot) + "_TRY", "0"}});
}

Status GrubBootloader::MarkBad(SlotId slot) {
  return Update({{Letter(slot) + "_OK", "0"}, {Letter(slot) + "_TRY", "0"}});
}

Status GrubBootloader::Update(
    const std::vector<std::pair<std::string, std::string>>& values) {
  IMAB_ASSIGN_OR_RETURN(Loaded loaded, Load());
  GrubEnv& env = loaded.env;
  // All five are written, so the block says what the snippet will do
  // rather than leaving it to the snippet's defaults.
  for (const std::string& name : OurVariables()) {
    if (env.Find(name) == nullptr) {
      IMAB_RETURN_IF_ERROR(env.Set(name, name == "ORDER" ? "A B" : "0"));
    }
  }
  for (const auto& [name, value] : values) {
    IMAB_RETURN_IF_ERROR(env.Set(name, value));
  }
  env.MoveToFront(OurVariables());
  Result<std::string> block = env.Render();
  if (!block.has_value()) {
    return Io(path_, std::move(block).error().message);
  }
  return Store(loaded.block, *block);
}

Status GrubBootloader::Store(const std::string& old_block,
                             const std::string& new_block) {
  size_t first_change = 0;
  size_t last_change = 0;
  bool changed = false;
  for (size_t i = 0; i < new_block.size(); ++i) {
    if (old_block[i] != new_block[i]) {
      first_change = changed ? first_change : i;
      last_change = i;
      changed = true;
    }
  }
  if (!changed) {
    return OkStatus();
  }
  if (first_change / kSectorBytes != last_change / kSectorBytes) {
    struct stat st {};
    unsigned mode = stat(path_.c_str(), &st) == 0 ? st.st_mode & 07777 : 0644;
    Status replaced = WriteFileAtomically(path_, new_block, mode);
    if (!replaced.ok()) {
      return Io(path_, std::move(replaced).error().message);
    }
    return OkStatus();
  }
  UniqueFd fd(open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    return Io(path_, std::string("open: ") + std::strerror(errno));
  }
  ssize_t wrote = pwrite(fd.get(), new_block.data(), new_block.size(), 0);
  if (wrote != static_cast<ssize_t>(new_block.size())) {
    return Io(path_, std::string("write: ") +
                         (wrote < 0 ? std::strerror(errno) : "short write"));
  }
  if (fdatasync(fd.get()) != 0) {
    return Io(path_, std::string("fdatasync: ") + std::strerror(errno));
  }
  return OkStatus();
}

}  // namespace imab::verifier
