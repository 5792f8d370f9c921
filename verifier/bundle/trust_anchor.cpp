#include "verifier/bundle/trust_anchor.h"

namespace imab::verifier {
namespace {

Result<AnchorDecision> FromTrustRoot(const HeldTrustRoot& held,
                                     const std::string& carried_root) {
  const SignedTrustRoot& current = held.root;
  IMAB_RETURN_IF_ERROR(CheckTrustRootSelfSigned(current));
  const SignedTrustRoot* effective = &current;
  std::optional<SignedTrustRoot> next;
  std::string detail =
      "trust root version " + std::to_string(current.body.version);
  if (!carried_root.empty() && carried_root != held.bytes) {
    IMAB_ASSIGN_OR_RETURN(next, ParseSignedTrustRoot(carried_root));
    IMAB_RETURN_IF_ERROR(CheckTrustRootSuccessor(current, *next));
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

}  // namespace

Result<AnchorDecision> DecideAnchors(const ReleaseAnchors& held,
                                     const std::string& carried_root) {
  if (held.trust_root.has_value()) {
    return FromTrustRoot(*held.trust_root, carried_root);
  }
  if (held.release_cas.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give either --release-ca or --trust-root");
  }
  IMAB_ASSIGN_OR_RETURN(
      ReleaseTrust anchors,
      ReleaseTrust::FromCertificates(held.release_cas, held.source));
  return AnchorDecision{std::move(anchors), "release CA file " + held.source,
                        std::nullopt, 0};
}

}  // namespace imab::verifier
