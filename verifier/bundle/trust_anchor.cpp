#include "verifier/bundle/trust_anchor.h"

#include "common/read/input_file.h"
#include "common/read/limits.h"

namespace imab::verifier {
namespace {

// The trust root in force before this bundle: bytes the caller loaded (a
// root the device adopted), else the configured file.
Result<std::string> CurrentRootBytes(const std::string& path,
                                     const std::optional<std::string>& bytes) {
  if (bytes.has_value()) {
    return *bytes;
  }
  Result<std::string> read = ReadInputFile(path, kMaxTrustRootBytes);
  if (!read.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument, read.error().message);
  }
  return read;
}

}  // namespace

Result<AnchorDecision> DecideAnchors(
    const std::string& release_ca, const std::string& trust_root_path,
    const std::optional<std::string>& trust_root_bytes,
    const std::string& carried_root) {
  if (!release_ca.empty()) {
    IMAB_ASSIGN_OR_RETURN(ReleaseTrust anchors,
                          ReleaseTrust::LoadPemFile(release_ca));
    return AnchorDecision{std::move(anchors), "release CA file " + release_ca,
                          std::nullopt, 0};
  }
  const std::string name =
      trust_root_bytes.has_value() ? "adopted trust root" : trust_root_path;
  IMAB_ASSIGN_OR_RETURN(std::string current_bytes,
                        CurrentRootBytes(trust_root_path, trust_root_bytes));
  Result<SignedTrustRoot> current = ParseSignedTrustRoot(current_bytes);
  if (!current.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     name + ": " + current.error().message);
  }
  IMAB_RETURN_IF_ERROR(CheckTrustRootSelfSigned(*current));
  const SignedTrustRoot* effective = &*current;
  std::optional<SignedTrustRoot> next;
  std::string detail =
      "trust root version " + std::to_string(current->body.version);
  if (!carried_root.empty() && carried_root != current_bytes) {
    IMAB_ASSIGN_OR_RETURN(next, ParseSignedTrustRoot(carried_root));
    IMAB_RETURN_IF_ERROR(CheckTrustRootSuccessor(*current, *next));
    effective = &*next;
    detail += " -> " + std::to_string(next->body.version) +
              " carried by the bundle (adopted after install)";
  }
  IMAB_ASSIGN_OR_RETURN(ReleaseTrust anchors,
                        ReleaseTrust::FromDer(effective->body.release_cas));
  std::optional<std::string> carried;
  if (!carried_root.empty()) {
    carried = carried_root;
  }
  return AnchorDecision{std::move(anchors), detail, std::move(carried),
                        effective->body.version};
}

}  // namespace imab::verifier
