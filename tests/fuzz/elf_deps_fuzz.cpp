// Fuzz target for the ELF and "#!" reader the verifier runs on every
// regular file of a bundle: any bytes, whole or streamed in pieces, give
// dependencies, an error, or nothing, without a crash; both ways agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "verifier/trust/elf_deps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto whole = imab::verifier::ParseProgramDeps(bytes, size);
  imab::verifier::ElfDepsScanner scanner;
  scanner.Begin(size);
  const size_t chunk = size > 0 ? 1 + data[0] % 61 : 1;
  for (size_t at = 0; at < size; at += chunk) {
    scanner.Feed(bytes.subspan(at, std::min(chunk, size - at)));
  }
  auto streamed = scanner.Finish();
  if (whole.has_value() != streamed.has_value() ||
      (whole.has_value() && (whole->interpreter != streamed->interpreter ||
                             whole->needed != streamed->needed ||
                             whole->error != streamed->error))) {
    std::abort();
  }
  return 0;
}
