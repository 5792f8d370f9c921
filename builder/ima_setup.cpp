#include "builder/ima_setup.h"

#include <algorithm>
#include <string>

#include "common/read/kernel_keyring.h"
#include "common/read/kernel_profile.h"
#include "common/read/kernel_version.h"
#include "common/read/keyid.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"
#include "common/write/ima_xattr_writer.h"

namespace imab::builder {
namespace {

Result<SigningCertificate> DeclareCertificate(const X509* cert,
                                              const std::string& path) {
  Result<uint32_t> keyid = KeyIdFromCertificate(cert);
  if (!keyid.has_value()) {
    return WithContext(keyid.error(), path);
  }
  Result<std::string> der = CertificateDer(cert);
  if (!der.has_value()) {
    return WithContext(der.error(), path);
  }
  return SigningCertificate{*keyid, std::move(der).value()};
}

Status AddCertificate(ImaSection& section, SigningCertificate cert) {
  for (const SigningCertificate& c : section.certificates) {
    if (c.der == cert.der) {
      return OkStatus();  // the same certificate for IMA and EVM
    }
    if (c.keyid == cert.keyid) {
      // The kernel takes the first key whose id matches and never retries.
      return MakeError(
          ErrorCode::kInvalidArgument,
          "two signing certificates share keyid " + KeyIdHex(cert.keyid));
    }
  }
  if (section.certificates.size() >= kMaxSigningCerts) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "more than " + std::to_string(kMaxSigningCerts) +
                         " signing certificates");
  }
  section.certificates.push_back(std::move(cert));
  std::sort(section.certificates.begin(), section.certificates.end(),
            [](const SigningCertificate& a, const SigningCertificate& b) {
              return a.keyid < b.keyid;
            });
  return OkStatus();
}

// The kernel CA's private key must never sign files directly.
Status RefuseKernelCaKey(const DigestSigner& signer,
                         const std::string& cert_path, const ImaSetup& setup) {
  for (const Ptr<X509>& ca : setup.kernel_cas) {
    if (EVP_PKEY_eq(X509_get0_pubkey(ca.get()),
                    X509_get0_pubkey(signer.certificate())) == 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       cert_path + ": signing key is the kernel CA key");
    }
  }
  return OkStatus();
}

// --kernel-version, else what --kernel-profile implies, else unknown.
Result<KernelTarget> ChooseTarget(const BuildOptions& options) {
  if (!options.kernel_version.empty()) {
    Result<KernelVersion> version = ParseKernelVersion(options.kernel_version);
    if (!version.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--kernel-version: " + version.error().message);
    }
    return KernelTarget::ForVersion(*version);
  }
  Result<KernelProfile> profile = ParseKernelProfile(options.kernel_profile);
  // From 5.14 EVM hashes every protected xattr; a list means an older one.
  if (profile.has_value() && profile->evm_xattrs != AllEvmXattrs()) {
    return KernelTarget::ForVersion(KernelVersion{5, 13});
  }
  return KernelTarget::Unknown();
}

}  // namespace

std::vector<KeyringCertificate> KeyringCertificates(
    const ImaSetup& setup, const BuildOptions& options) {
  std::vector<KeyringCertificate> out;
  if (setup.ima_signer != nullptr) {
    out.push_back({options.ima_certs[0], setup.ima_signer->certificate()});
  }
  if (setup.evm_signer != nullptr) {
    out.push_back({options.evm_cert, setup.evm_signer->certificate()});
  }
  for (size_t i = 0; i < setup.kept_certs.size(); ++i) {
    out.push_back({options.ima_certs[i], setup.kept_certs[i].get()});
  }
  return out;
}

Status CheckKeyringCertificates(const ImaSetup& setup,
                                const BuildOptions& options,
                                const KernelTarget& target,
                                const std::string& kernels) {
  if (setup.kernel_cas.empty()) {
    return OkStatus();
  }
  std::vector<X509*> cas;
  for (const Ptr<X509>& ca : setup.kernel_cas) {
    cas.push_back(ca.get());
  }
  for (const KeyringCertificate& c : KeyringCertificates(setup, options)) {
    std::optional<KeyringRefusal> refusal =
        FindKeyringRefusal(c.cert, cas, target);
    if (refusal.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       c.path + ": " + kernels +
                           (refusal->kernel_error != 0
                                ? " would refuse it: "
                                : " would load it but verify no signature "
                                  "with it: ") +
                           refusal->message);
    }
  }
  return OkStatus();
}

Result<ImaSetup> LoadImaSetup(const BuildOptions& options, PrivateKeys& keys) {
  ImaSetup setup;
  for (const std::string& path : options.kernel_cas) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> cas,
                          LoadPemCertificates(path));
    for (Ptr<X509>& ca : cas) {
      setup.kernel_cas.push_back(std::move(ca));
    }
  }
  IMAB_ASSIGN_OR_RETURN(setup.target, ChooseTarget(options));
  if (options.ima_key.empty() && !options.keep_signatures) {
    return setup;
  }
  IMAB_ASSIGN_OR_RETURN(setup.algo, SigningHashAlgoFromName(options.hash));
  ImaSection section;
  IMAB_ASSIGN_OR_RETURN(section.profile,
                        ParseKernelProfile(options.kernel_profile));
  if (!options.ima_key.empty()) {
    IMAB_ASSIGN_OR_RETURN(
        setup.ima_signer,
        keys.LoadDigestSigner(options.ima_key, options.ima_certs[0]));
    IMAB_ASSIGN_OR_RETURN(auto cert,
                          DeclareCertificate(setup.ima_signer->certificate(),
                                             options.ima_certs[0]));
    IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(cert)));
    IMAB_RETURN_IF_ERROR(
        RefuseKernelCaKey(*setup.ima_signer, options.ima_certs[0], setup));
    if (!options.evm_key.empty()) {
      IMAB_ASSIGN_OR_RETURN(
          setup.evm_signer,
          keys.LoadDigestSigner(options.evm_key, options.evm_cert));
      IMAB_ASSIGN_OR_RETURN(auto evm_cert,
                            DeclareCertificate(setup.evm_signer->certificate(),
                                               options.evm_cert));
      IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(evm_cert)));
      IMAB_RETURN_IF_ERROR(
          RefuseKernelCaKey(*setup.evm_signer, options.evm_cert, setup));
    }
  } else {
    for (const std::string& path : options.ima_certs) {
      IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(path));
      IMAB_ASSIGN_OR_RETURN(auto declared,
                            DeclareCertificate(cert.get(), path));
      IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(declared)));
      setup.kept_certs.push_back(std::move(cert));
    }
  }
  setup.section = std::move(section);
  IMAB_RETURN_IF_ERROR(CheckKeyringCertificates(setup, options, setup.target,
                                                "the device kernel"));
  return setup;
}

}  // namespace imab::builder
