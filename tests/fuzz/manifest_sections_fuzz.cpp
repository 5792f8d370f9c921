// Fuzz target for each section parser of ManifestReader (FORMAT.md §3.3)
// and for its record parser: the first byte picks the entry point (the
// `section NAME VERSION` line, or `entries`), the second the entry count,
// and the rest follows a fixed valid header, so every mutation lands in
// the parser picked. Accepted input must be canonical, as in
// manifest_reader_fuzz.cpp: the writer gives back the same bytes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/manifest_reader.h"
#include "common/write/manifest_writer.h"
#include "tests/testutil/memory_byte_source.h"

namespace {

constexpr std::array<std::string_view, 7> kEntryPoints = {
    "section trust-root 1\n",
    "section development 1\n",
    "section validity 1\n",
    "section keys 2\n",
    "section ima 1\n",
    "section ca-store 1\n",
    "entries\n"};

std::string FixedHeader(unsigned entry_count) {
  return "imabundle-manifest 2\nkind full\nimage-version 1.2.3\n"
         "compatible board-x\ncreated 1700000000\npayload-size 1234\n"
         "payload-sha256 " +
         std::string(64, 'a') + "\nentry-count " + std::to_string(entry_count) +
         "\n";
}

// The manifest rewritten from what the reader parsed, or "" when refused.
std::string ParseAndRewrite(const std::vector<uint8_t>& bytes) {
  imab::MemoryByteSource source(bytes);
  auto reader = imab::ManifestReader::Open(source, 0, bytes.size());
  if (!reader.has_value()) {
    return "";
  }
  std::string rewritten;
  imab::AppendManifestHeader((*reader)->header(), &rewritten);
  for (;;) {
    auto next = (*reader)->Next();
    if (!next.has_value()) {
      return "";
    }
    if (!next->has_value()) {
      break;
    }
    imab::AppendManifestRecord(**next, &rewritten);
  }
  if (!(*reader)->Finish().has_value()) {
    return "";
  }
  imab::AppendManifestEnd(&rewritten);
  return rewritten;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  std::string text = FixedHeader(data[1] % 8);
  text += kEntryPoints[data[0] % kEntryPoints.size()];
  text.append(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::vector<uint8_t> bytes(text.begin(), text.end());
  std::string rewritten = ParseAndRewrite(bytes);
  if (!rewritten.empty() && rewritten != text) {
    std::abort();  // two spellings of one manifest
  }
  return 0;
}
