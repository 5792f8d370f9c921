// LoadDeviceTrust: the I/O half of the trust decision, kept apart so that
// trust_decision.cpp stays a pure computation.
#include <charconv>
#include <fstream>
#include <sstream>

#include "common/read/input_file.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {
namespace {

// A policy is a few hundred lines; the cap keeps /dev/zero-like files out.
constexpr size_t kMaxImaPolicyBytes = 1u << 20;

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

Status AddAll(const DeviceConfig& config, const std::vector<std::string>& paths,
              std::vector<Ptr<X509>>& to) {
  for (const std::string& path : paths) {
    IMAB_ASSIGN_OR_RETURN(std::string real, DevicePath(config, path));
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs, LoadCertificates(real));
    for (Ptr<X509>& cert : certs) {
      to.push_back(std::move(cert));
    }
  }
  return OkStatus();
}

// Certificates the device recorded itself (DER).
Status AddRecorded(const std::vector<std::string>& ders, const char* what,
                   std::vector<Ptr<X509>>& to) {
  for (const std::string& der : ders) {
    Result<Ptr<X509>> cert = ParseCertificateDer(
        der, std::string("device state: a recorded ") + what);
    // The device's own state, not the bundle, is broken.
    if (!cert.has_value()) {
      return MakeError(ErrorCode::kIo, cert.error().message);
    }
    to.push_back(std::move(*cert));
  }
  return OkStatus();
}

Status ApplyRecordedKernel(const DeviceState& state, DeviceTrust& trust) {
  if (!state.kernel_profile.empty()) {
    Result<KernelProfile> profile = ParseKernelProfile(state.kernel_profile);
    if (!profile.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "recorded kernel-profile: " + profile.error().message);
    }
    trust.profile = *profile;
  }
  if (!state.kernel_version.empty()) {
    const std::string& text = state.kernel_version;
    KernelVersion version;
    const char* end = text.data() + text.size();
    auto major = std::from_chars(text.data(), end, version.major);
    auto minor =
        major.ec == std::errc() && major.ptr != end && *major.ptr == '.'
            ? std::from_chars(major.ptr + 1, end, version.minor)
            : std::from_chars_result{end, std::errc::invalid_argument};
    if (minor.ec != std::errc() || minor.ptr != end) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "recorded kernel-version " + text + ": not MAJOR.MINOR");
    }
    trust.kernel_version = version;
  }
  return OkStatus();
}

}  // namespace

Result<DeviceTrust> LoadDeviceTrust(const DeviceConfig& config,
                                    const DeviceState& state) {
  DeviceTrust trust;
  if (!state.kernel_cas.empty()) {
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.kernel_cas, "kernel CA", trust.kernel_cas));
  } else {
    IMAB_RETURN_IF_ERROR(AddAll(config, config.kernel_cas, trust.kernel_cas));
  }
  if (!state.ima_certs.empty() || !state.evm_certs.empty()) {
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.ima_certs, "IMA certificate", trust.ima_certs));
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.evm_certs, "EVM certificate", trust.evm_certs));
  } else {
    IMAB_RETURN_IF_ERROR(AddAll(config, config.ima_certs, trust.ima_certs));
    IMAB_RETURN_IF_ERROR(AddAll(config, config.evm_certs, trust.evm_certs));
  }
  trust.profile = config.kernel_profile;
  trust.kernel_version = config.kernel_version;
  // The kernel the installed image shipped, when it counted.
  IMAB_RETURN_IF_ERROR(ApplyRecordedKernel(state, trust));
  trust.critical = config.critical;
  trust.owner_critical = config.owner_critical;
  trust.init = config.init;
  trust.in_place = config.layout == SlotLayout::kInPlace;
  trust.boots_without_initramfs = config.initramfs == InitramfsSource::kNone;
  if (!config.ima_policy.empty()) {
    IMAB_ASSIGN_OR_RETURN(const std::string path,
                          DevicePath(config, config.ima_policy));
    Result<std::string> text = ReadInputFile(path, kMaxImaPolicyBytes);
    if (!text.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "IMA policy " + text.error().message);
    }
    trust.policy_context = PolicyContextOf(config);
    IMAB_ASSIGN_OR_RETURN(trust.policy,
                          ImaPolicy::Parse(*text, path, trust.policy_context));
    trust.policy_text = std::move(*text);
    trust.policy_where = path;
  }
  return trust;
}

}  // namespace imab::verifier
