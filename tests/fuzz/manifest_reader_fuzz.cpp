// Fuzz target for ManifestReader (FORMAT.md §3): any input must be parsed or
// refused without a crash, and an accepted input must be canonical, i.e. equal
// to what the writer produces from the parsed model.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/manifest.h"
#include "common/read/manifest_reader.h"
#include "common/write/manifest_writer.h"
#include "tests/testutil/memory_byte_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  imab::MemoryByteSource source(bytes);
  auto reader = imab::ManifestReader::Open(source, 0, size);
  if (!reader.has_value()) {
    return 0;
  }
  std::string rewritten;
  imab::AppendManifestHeader((*reader)->header(), &rewritten);
  for (;;) {
    auto next = (*reader)->Next();
    if (!next.has_value()) {
      return 0;
    }
    if (!next->has_value()) {
      break;
    }
    imab::AppendManifestRecord(**next, &rewritten);
  }
  auto digest = (*reader)->Finish();
  if (!digest.has_value()) {
    return 0;
  }
  imab::AppendManifestEnd(&rewritten);
  // One spelling per manifest: two accepted byte strings never mean the same.
  if (rewritten.size() != size ||
      !std::equal(rewritten.begin(), rewritten.end(), bytes.begin())) {
    std::abort();
  }
  auto expected = imab::Sha256Of(bytes);
  if (!expected.has_value() || !imab::DigestEquals(*expected, *digest)) {
    std::abort();
  }
  return 0;
}
