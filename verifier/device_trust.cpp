// LoadDeviceTrust: the I/O half of the trust decision, kept apart so that
// trust_decision.cpp stays a pure computation.
#include <fstream>
#include <sstream>

#include "common/limits.h"
#include "common/x509_util.h"
#include "verifier/trust_decision.h"

namespace imab::verifier {
namespace {

// A file of one or more certificates: PEM (several allowed) or one DER.
Result<std::vector<Ptr<X509>>> LoadCertificates(const std::string& path) {
  Result<std::vector<Ptr<X509>>> pem = LoadPemCertificates(path);
  if (pem.has_value()) {
    return pem;
  }
  Result<Ptr<X509>> one = LoadCertificate(path);
  if (!one.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": " + one.error().message);
  }
  std::vector<Ptr<X509>> out;
  out.push_back(std::move(*one));
  return out;
}

Status AddAll(const DeviceConfig& config,
              const std::vector<std::string>& paths,
              std::vector<Ptr<X509>>& to) {
  for (const std::string& path : paths) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs,
                          LoadCertificates(DevicePath(config, path)));
    for (Ptr<X509>& cert : certs) {
      to.push_back(std::move(cert));
    }
  }
  return OkStatus();
}

}  // namespace

Result<DeviceTrust> LoadDeviceTrust(const DeviceConfig& config) {
  DeviceTrust trust;
  IMAB_RETURN_IF_ERROR(AddAll(config, config.kernel_cas, trust.kernel_cas));
  IMAB_RETURN_IF_ERROR(AddAll(config, config.ima_certs, trust.ima_certs));
  IMAB_RETURN_IF_ERROR(AddAll(config, config.evm_certs, trust.evm_certs));
  trust.profile = config.kernel_profile;
  trust.kernel_version = config.kernel_version;
  trust.critical = config.critical;
  trust.in_place = config.layout == SlotLayout::kInPlace;
  if (!config.ima_policy.empty()) {
    const std::string path = DevicePath(config, config.ima_policy);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cannot read IMA policy " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    IMAB_ASSIGN_OR_RETURN(trust.policy, ImaPolicy::Parse(text.str(), path));
  }
  return trust;
}

}  // namespace imab::verifier
