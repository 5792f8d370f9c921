#include "verifier/boot/uboot_bootloader.h"

#include <fcntl.h>
#include <mtd/mtd-user.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/read/handles.h"
#include "verifier/device/run_program.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {

namespace {

constexpr size_t kMaxEnvConfigBytes = 16u << 10;
constexpr uint32_t kMaxAttempts = 0xFFFF;

std::string Letter(SlotId slot) { return slot == SlotId::kA ? "A" : "B"; }
std::string LeftName(SlotId slot) { return "BOOT_" + Letter(slot) + "_LEFT"; }

std::string Hex(uint32_t value) {
  char text[16];
  snprintf(text, sizeof text, "%x", value);
  return text;
}

Error Io(const std::string& where, const std::string& what) {
  return MakeError(ErrorCode::kIo, "U-Boot environment " + where + ": " + what);
}

// NOR flash marks copies with a 1/0 flag, everything else counts
// (libubootenv's check_env_device).
UbootFlagScheme SchemeOf(const std::string& device, int fd) {
  if (device.rfind("/dev/mtd", 0) != 0) {
    return UbootFlagScheme::kIncremental;
  }
  mtd_info_user info{};
  if (ioctl(fd, MEMGETINFO, &info) == 0 && info.type == MTD_NORFLASH) {
    return UbootFlagScheme::kBoolean;
  }
  return UbootFlagScheme::kIncremental;
}

Result<std::string> ReadCopy(const UbootEnvCopy& copy,
                             UbootFlagScheme& scheme) {
  // O_NONBLOCK: a FIFO named by mistake must not hang the command.
  UniqueFd fd(open(copy.device.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    return Io(copy.device, std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 ||
      !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
    return Io(copy.device, "not a file or a device");
  }
  scheme = SchemeOf(copy.device, fd.get());
  std::string bytes(copy.size, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t got = pread(fd.get(), bytes.data() + done, bytes.size() - done,
                        static_cast<off_t>(copy.offset + done));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return Io(copy.device,
                got < 0 ? std::strerror(errno) : "ends before offset + size");
    }
    done += static_cast<size_t>(got);
  }
  return bytes;
}

// BOOT_X_LEFT: hex digits (setexpr's), at most kMaxAttempts.
Result<uint32_t> Left(const UbootVariables& variables, SlotId slot,
                      uint32_t attempts, const std::string& where) {
  const std::string* value = FindUbootVariable(variables, LeftName(slot));
  if (value == nullptr) {
    return attempts;
  }
  std::string digits = *value;
  if (digits.rfind("0x", 0) == 0) {
    digits = digits.substr(2);
  }
  if (digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Io(where, LeftName(slot) + "=\"" + *value +
                         "\", expected a count (hex digits)");
  }
  return static_cast<uint32_t>(std::stoul(digits, nullptr, 16));
}

}  // namespace

Result<UbootVariables> UbootBootloader::Load() const {
  std::vector<std::string> copies;
  UbootFlagScheme scheme = UbootFlagScheme::kIncremental;
  for (const UbootEnvCopy& copy : config_.copies) {
    IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadCopy(copy, scheme));
    copies.push_back(std::move(bytes));
  }
  Result<UbootVariables> variables = DecodeUbootEnv(
      copies, scheme, "U-Boot environment " + config_.copies[0].device);
  if (!variables.has_value()) {
    // Damage on the device is an I/O failure of the device, as for the
    // other device files.
    return MakeError(ErrorCode::kIo, std::move(variables).error().message);
  }
  return variables;
}

Result<SlotId> UbootBootloader::Primary() const {
  IMAB_ASSIGN_OR_RETURN(UbootVariables variables, Load());
  const std::string* order = FindUbootVariable(variables, "BOOT_ORDER");
  if (order == nullptr || *order == "A B") {
    return SlotId::kA;
  }
  if (*order == "B A") {
    return SlotId::kB;
  }
  return Io(config_.copies[0].device,
            "BOOT_ORDER=\"" + *order + "\", expected \"A B\" or \"B A\"");
}

Result<BootSlotStatus> UbootBootloader::SlotStatus(SlotId slot) const {
  IMAB_ASSIGN_OR_RETURN(UbootVariables variables, Load());
  IMAB_ASSIGN_OR_RETURN(uint32_t left, Left(variables, slot, attempts_,
                                            config_.copies[0].device));
  BootSlotStatus status;
  status.bootable = left > 0;
  status.confirmed = left == attempts_;
  status.attempts_left = left;
  return status;
}

Status UbootBootloader::SetPrimary(SlotId slot) {
  return Update({{"BOOT_ORDER", Letter(slot) + " " + Letter(OtherSlot(slot))},
                 {LeftName(slot), Hex(attempts_)}});
}

Status UbootBootloader::MarkGood(SlotId slot) {
  return Update({{LeftName(slot), Hex(attempts_)}});
}

Status UbootBootloader::MarkBad(SlotId slot) {
  return Update({{LeftName(slot), "0"}});
}

Status UbootBootloader::Update(const UbootVariables& values) {
  // fw_setenv would replace an environment it cannot read by a default
  // one; ours refuses first, and -f names no file so that it fails too.
  IMAB_RETURN_IF_ERROR(Load());
  Result<std::string> fw_setenv = FindProgram("fw_setenv");
  if (!fw_setenv.has_value()) {
    return Io(config_.copies[0].device,
              fw_setenv.error().message + " (libubootenv-tool)");
  }
  ProgramRun run;
  run.argv = {
      *fw_setenv, "-c", config_path_, "-f", "/dev/null/no-default-environment",
      "-s",       "-"};
  for (const auto& [name, value] : values) {
    run.input += name + "=" + value + "\n";
  }
  Result<ProgramResult> result = RunProgram(run);
  if (!result.has_value()) {
    return Io(config_.copies[0].device, std::move(result).error().message);
  }
  if (result->exit_code != 0) {
    return Io(config_.copies[0].device,
              "fw_setenv: " + DescribeFailure(*result));
  }
  // fw_setenv ignores a variable the environment's .flags make read-only.
  IMAB_ASSIGN_OR_RETURN(UbootVariables now, Load());
  for (const auto& [name, value] : values) {
    const std::string* stored = FindUbootVariable(now, name);
    if (stored == nullptr || *stored != value) {
      return Io(config_.copies[0].device,
                "fw_setenv did not store " + name + "=" + value);
    }
  }
  return OkStatus();
}

Result<std::unique_ptr<Bootloader>> OpenUbootBootloader(
    const std::string& config_path, const std::string& shown,
    uint32_t attempts) {
  auto invalid = [](const std::string& message) {
    return MakeError(ErrorCode::kInvalidArgument, message);
  };
  if (attempts == 0 || attempts > kMaxAttempts) {
    return invalid("boot-attempts: " + std::to_string(attempts) +
                   " is not between 1 and " + std::to_string(kMaxAttempts));
  }
  Result<std::optional<std::string>> text =
      ReadSmallFile(config_path, kMaxEnvConfigBytes);
  if (!text.has_value() || !text->has_value()) {
    return invalid(
        "fw-env-config: " + shown + ": " +
        (text.has_value() ? "does not exist" : text.error().message));
  }
  Result<UbootEnvConfig> config = ParseUbootEnvConfig(**text, shown);
  if (!config.has_value()) {
    return invalid("fw-env-config: " + std::move(config).error().message);
  }
  return std::unique_ptr<Bootloader>(std::make_unique<UbootBootloader>(
      config_path, std::move(*config), attempts));
}

}  // namespace imab::verifier
