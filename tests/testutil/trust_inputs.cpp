#include "tests/testutil/trust_inputs.h"

#include "verifier/load/material_loader.h"

namespace imab::testing {

Status LoadForVerify(const std::string& bundle_path,
                     const std::string& release_ca, LoadedVerify& loaded) {
  IMAB_RETURN_IF_ERROR(verifier::OpenBundle(bundle_path, loaded));
  IMAB_ASSIGN_OR_RETURN(loaded.trust.release,
                        verifier::LoadReleaseAnchors(release_ca, ""));
  return OkStatus();
}

Status VerifyFiles(const std::string& bundle_path,
                   const std::string& release_ca, verifier::EntrySink& sink,
                   verifier::VerifyReport& report) {
  LoadedVerify loaded;
  IMAB_RETURN_IF_ERROR(LoadForVerify(bundle_path, release_ca, loaded));
  Result<verifier::VerifiedBundle> verified =
      verifier::VerifyBundle(loaded.options, sink, report);
  if (!verified.has_value()) {
    return verified.error();
  }
  return OkStatus();
}

Result<verifier::ReleaseTrust> LoadReleaseTrust(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(verifier::ReleaseAnchors anchors,
                        verifier::LoadReleaseCaFile(path));
  return verifier::ReleaseTrust::FromCertificates(anchors.release_cas, path);
}

}  // namespace imab::testing
