#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

const char* SlotName(SlotId slot) {
  switch (slot) {
    case SlotId::kA:
      return "a";
    case SlotId::kB:
      return "b";
  }
  return "?";
}

SlotId OtherSlot(SlotId slot) {
  return slot == SlotId::kA ? SlotId::kB : SlotId::kA;
}

Status SlotBackend::RewriteState(SlotId /*slot*/,
                                 const DeviceState& /*state*/) {
  return MakeError(ErrorCode::kInternal,
                   "this slot backend cannot rewrite a slot's state");
}

Result<SlotId> SlotBackend::InactiveSlot() const {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  return OtherSlot(active);
}

Result<DeviceState> SlotBackend::ActiveState() const {
  IMAB_ASSIGN_OR_RETURN(SlotId active, ActiveSlot());
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> state, ReadState(active));
  if (!state.has_value()) {
    return DeviceState{};  // nothing installed: no floors yet
  }
  return std::move(*state);
}

}  // namespace imab::verifier
