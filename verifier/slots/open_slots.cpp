#include "verifier/slots/open_slots.h"

#include "verifier/slots/block_slots.h"
#include "verifier/slots/directory_slots.h"

namespace imab::verifier {

Result<std::unique_ptr<SlotBackend>> OpenSlots(const DeviceConfig& config,
                                               Bootloader* bootloader) {
  if (config.boot.slots == SlotKind::kBlock) {
    IMAB_ASSIGN_OR_RETURN(auto slots, BlockSlots::Open(config, bootloader));
    return std::unique_ptr<SlotBackend>(std::move(slots));
  }
  IMAB_ASSIGN_OR_RETURN(std::string slots_dir, SlotsFolder(config));
  IMAB_ASSIGN_OR_RETURN(auto slots,
                        DirectorySlots::Open(slots_dir, bootloader));
  return std::unique_ptr<SlotBackend>(std::move(slots));
}

}  // namespace imab::verifier
