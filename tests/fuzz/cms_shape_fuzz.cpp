// Fuzz target for CheckUnsignedCmsFields (FORMAT.md §5), the DER walk the
// verifier runs on manifest.sig before OpenSSL sees it: any bytes are
// accepted or refused without a crash, and an accepted signatureAlgorithm
// is a view that lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "verifier/bundle/cms_shape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> der(data, size);
  std::span<const uint8_t> algorithm;
  imab::Status shape = imab::verifier::CheckUnsignedCmsFields(der, &algorithm);
  if (!shape.ok()) {
    return 0;
  }
  if (algorithm.empty() || algorithm.data() < data ||
      algorithm.data() + algorithm.size() > data + size) {
    std::abort();
  }
  return 0;
}
