#include "verifier/trust_anchor.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "common/byte_reader.h"
#include "common/hex.h"
#include "common/limits.h"

namespace imab::verifier {
namespace {

constexpr size_t kHeaderLines = 8;  // FORMAT.md §3.2, before any section
constexpr size_t kMaxHeaderBytes = 4096;

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kIo, path + ": cannot read");
  }
  std::string out(kMaxTrustRootBytes + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > kMaxTrustRootBytes) {
    return MakeError(ErrorCode::kLimitExceeded, path + ": trust root too big");
  }
  return out;
}

// The signed root carried by the manifest's first section, if any, read
// with a bounded cursor from the (not yet verified) manifest bytes.
Result<std::optional<std::string>> PeekCarriedRoot(ByteSource& source,
                                                   uint64_t offset,
                                                   uint64_t size) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(
      size, kMaxHeaderBytes + 2 * kMaxTrustRootBytes + 128));
  std::vector<uint8_t> head(want);
  IMAB_RETURN_IF_ERROR(source.ReadAt(offset, head));
  ByteReader reader(head);
  for (size_t i = 0; i < kHeaderLines; ++i) {
    IMAB_RETURN_IF_ERROR(reader.ReadUntil('\n'));
  }
  Result<std::string_view> line = reader.ReadUntil('\n');
  if (!line.has_value() || *line != "section trust-root 1") {
    return std::optional<std::string>();
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view root_line, reader.ReadUntil('\n'));
  constexpr std::string_view kPrefix = "signed-root ";
  if (!root_line.starts_with(kPrefix)) {
    return MakeError(ErrorCode::kMalformed,
                     "manifest: section trust-root without signed-root");
  }
  IMAB_ASSIGN_OR_RETURN(std::string bytes,
                        HexDecode(root_line.substr(kPrefix.size())));
  return std::optional<std::string>(std::move(bytes));
}

}  // namespace

Result<AnchorDecision> DecideAnchors(const std::string& release_ca,
                                    const std::string& trust_root_path,
                                    ByteSource& source, uint64_t offset,
                                    uint64_t size) {
  if (!release_ca.empty()) {
    IMAB_ASSIGN_OR_RETURN(ReleaseTrust anchors,
                          ReleaseTrust::LoadPemFile(release_ca));
    return AnchorDecision{std::move(anchors), "release CA file " + release_ca,
                         std::nullopt, 0};
  }
  IMAB_ASSIGN_OR_RETURN(std::string current_bytes,
                        ReadSmallFile(trust_root_path));
  Result<SignedTrustRoot> current = ParseSignedTrustRoot(current_bytes);
  if (!current.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     trust_root_path + ": " + current.error().message);
  }
  IMAB_RETURN_IF_ERROR(CheckTrustRootSelfSigned(*current));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> carried,
                        PeekCarriedRoot(source, offset, size));
  const SignedTrustRoot* effective = &*current;
  std::optional<SignedTrustRoot> next;
  std::string detail =
      "trust root version " + std::to_string(current->body.version);
  if (carried.has_value() && *carried != current_bytes) {
    IMAB_ASSIGN_OR_RETURN(next, ParseSignedTrustRoot(*carried));
    IMAB_RETURN_IF_ERROR(CheckTrustRootSuccessor(*current, *next));
    effective = &*next;
    detail += " -> " + std::to_string(next->body.version) +
              " carried by the bundle (adopted after install)";
  }
  IMAB_ASSIGN_OR_RETURN(ReleaseTrust anchors,
                        ReleaseTrust::FromDer(effective->body.release_cas));
  return AnchorDecision{std::move(anchors), detail, carried,
                       effective->body.version};
}

}  // namespace imab::verifier
