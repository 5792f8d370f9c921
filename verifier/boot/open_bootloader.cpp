// OpenBootloader (verifier/boot/bootloader.h): the backend device.conf
// names, its file found beneath ROOT.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "verifier/boot/bootloader.h"
#include "verifier/boot/custom_bootloader.h"
#include "verifier/boot/grub_bootloader.h"
#include "verifier/boot/uboot_bootloader.h"
#include "verifier/device/device_root.h"

namespace imab::verifier {

namespace {

Error Invalid(const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

// The real location of the file `key` names, beneath ROOT: a regular file
// we may read (and, for a script, run).
Result<std::string> BootFile(const DeviceConfig& config, const char* key,
                             const std::string& relative, int access_mode) {
  IMAB_ASSIGN_OR_RETURN(DeviceRoot root, DeviceRoot::Open(config.root));
  Result<std::string> real = root.Resolve(relative);
  if (!real.has_value()) {
    return WithContext(std::move(real).error(), key);
  }
  struct stat st {};
  if (stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Invalid(std::string(key) + ": " + root.Display(relative) +
                   ": not a regular file");
  }
  if (access(real->c_str(), access_mode) != 0) {
    return Invalid(std::string(key) + ": " + root.Display(relative) + ": " +
                   std::strerror(errno));
  }
  return real;
}

}  // namespace

Result<std::unique_ptr<Bootloader>> OpenBootloader(const DeviceConfig& config) {
  const BootSetup& boot = config.boot;
  switch (boot.bootloader) {
    case BootloaderKind::kNone:
      return std::unique_ptr<Bootloader>();
    case BootloaderKind::kCustom: {
      IMAB_ASSIGN_OR_RETURN(std::string script,
                            BootFile(config, "bootloader-script",
                                     boot.bootloader_script, R_OK | X_OK));
      return std::unique_ptr<Bootloader>(
          std::make_unique<CustomBootloader>(std::move(script)));
    }
    case BootloaderKind::kGrub: {
      IMAB_ASSIGN_OR_RETURN(std::string grubenv,
                            BootFile(config, "grubenv", boot.grubenv, R_OK));
      return std::unique_ptr<Bootloader>(
          std::make_unique<GrubBootloader>(std::move(grubenv)));
    }
    case BootloaderKind::kUboot: {
      IMAB_ASSIGN_OR_RETURN(
          std::string env_config,
          BootFile(config, "fw-env-config", boot.fw_env_config, R_OK));
      IMAB_ASSIGN_OR_RETURN(DeviceRoot root, DeviceRoot::Open(config.root));
      return OpenUbootBootloader(env_config, root.Display(boot.fw_env_config),
                                 boot.boot_attempts);
    }
  }
  return MakeError(ErrorCode::kInternal, "unknown bootloader kind");
}

}  // namespace imab::verifier
