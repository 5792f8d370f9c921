// Fuzz target for ReadBundleLayout (FORMAT.md §2.3): any input must be
// accepted or refused without a crash, and an accepted layout must describe
// three ordered members that lie inside the input and within the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/read/bundle_container.h"
#include "common/read/byte_source.h"
#include "common/read/limits.h"
#include "tests/testutil/memory_byte_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  imab::MemoryByteSource source(std::vector<uint8_t>(data, data + size));
  auto layout = imab::ReadBundleLayout(source);
  if (!layout.has_value()) {
    return 0;
  }
  const imab::BundleLayout& l = *layout;
  // Each member starts after the previous one ends and all of them end
  // inside the file; sizes respect limits.h. Checked without overflow.
  bool ok =
      l.manifest_size <= imab::kMaxManifestBytes &&
      l.signature_size <= imab::kMaxSignatureBytes &&
      l.payload_size <= imab::kMaxPayloadBytes && l.manifest_offset <= size &&
      l.manifest_size <= size - l.manifest_offset &&
      l.signature_offset >= l.manifest_offset + l.manifest_size &&
      l.signature_offset <= size &&
      l.signature_size <= size - l.signature_offset &&
      l.payload_offset >= l.signature_offset + l.signature_size &&
      l.payload_offset <= size && l.payload_size <= size - l.payload_offset;
  if (!ok) {
    std::abort();
  }
  return 0;
}
