#include "verifier/slots/open_slots.h"

#include "verifier/slots/directory_slots.h"

namespace imab::verifier {

Result<std::unique_ptr<SlotBackend>> OpenSlots(const DeviceConfig& config,
                                               Bootloader* bootloader) {
  IMAB_ASSIGN_OR_RETURN(std::string slots_dir, SlotsFolder(config));
  IMAB_ASSIGN_OR_RETURN(auto slots,
                        DirectorySlots::Open(slots_dir, bootloader));
  return std::unique_ptr<SlotBackend>(std::move(slots));
}

}  // namespace imab::verifier
