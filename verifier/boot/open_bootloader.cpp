// TEMPORARY STUB (not committed): bootenv's backends replace it.
#include "verifier/boot/bootloader.h"
namespace imab::verifier {
Result<std::unique_ptr<Bootloader>> OpenBootloader(const DeviceConfig& config) {
  if (config.boot.bootloader == BootloaderKind::kNone) {
    return std::unique_ptr<Bootloader>();
  }
  return MakeError(ErrorCode::kInvalidArgument, "stub: no backend");
}
}  // namespace imab::verifier
