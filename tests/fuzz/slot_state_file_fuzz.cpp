// Fuzz target for ParseSlotState, the reader of the slot state files the
// verifier trusts for its floors (manifests/device.conf.md, "Slots"): any
// text is parsed or refused without a crash, and an accepted one is the
// canonical text EncodeSlotState gives back (one spelling per state).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/device/slot_state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = imab::verifier::ParseSlotState(text, "fuzz");
  if (!state.has_value()) {
    return 0;
  }
  if (imab::verifier::EncodeSlotState(*state) != text) {
    std::abort();  // two spellings of one state
  }
  return 0;
}
