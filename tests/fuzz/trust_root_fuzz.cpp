// Fuzz target for the signed trust root parser (FORMAT.md §8), which a
// verifier runs on the root a bundle carries before adopting it: any input
// is parsed or refused without a crash, an accepted one is canonical (the
// writer gives back the same bytes), and checking its self-signatures never
// crashes either.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/read/trust_root.h"
#include "common/write/trust_root_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto root = imab::ParseSignedTrustRoot(bytes);
  if (!root.has_value()) {
    return 0;
  }
  if (imab::EncodeSignedTrustRoot(*root) != bytes) {
    std::abort();  // two spellings of one root
  }
  (void)imab::CheckTrustRootSelfSigned(*root);
  return 0;
}
