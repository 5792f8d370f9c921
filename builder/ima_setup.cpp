#include "builder/ima_setup.h"

#include <algorithm>
#include <string>

#include "common/kernel_keyring.h"
#include "common/kernel_profile.h"
#include "common/keyid.h"
#include "common/limits.h"
#include "common/x509_util.h"

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
      return MakeError(ErrorCode::kInvalidArgument,
                       "two signing certificates share keyid " +
                           KeyIdHex(cert.keyid));
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

// Refuses a signing certificate the device kernel would not load into its
// .ima/.evm keyring, so no image ships that cannot run anything.
Status CheckAgainstKernelCas(const DigestSigner& signer,
                             const std::string& cert_path,
                             const ImaSetup& setup,
                             const KernelProfile& profile) {
  std::vector<X509*> cas;
  for (const Ptr<X509>& ca : setup.kernel_cas) {
    cas.push_back(ca.get());
    // The kernel CA's private key must never sign files directly.
    if (EVP_PKEY_eq(X509_get0_pubkey(ca.get()),
                    X509_get0_pubkey(signer.certificate())) == 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       cert_path + ": signing key is the kernel CA key");
    }
  }
  KernelKeyringRules rules;
  // A profile with its own xattr list describes a kernel before 5.14, so
  // before 6.6's digitalSignature rule.
  rules.require_digital_signature =
      profile.evm_xattrs == AllEvmXattrs();
  Status accepted =
      CheckKernelAcceptsCertificate(signer.certificate(), cas, rules);
  if (!accepted.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     cert_path + ": the device kernel would refuse it: " +
                         accepted.error().message);
  }
  return OkStatus();
}

}  // namespace

Result<ImaSetup> LoadImaSetup(const BuildOptions& options,
                              PrivateKeys& keys) {
  ImaSetup setup;
  for (const std::string& path : options.kernel_cas) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> cas,
                          LoadPemCertificates(path));
    for (Ptr<X509>& ca : cas) {
      setup.kernel_cas.push_back(std::move(ca));
    }
  }
  if (options.ima_key.empty() && !options.keep_signatures) {
    return setup;
  }
  IMAB_ASSIGN_OR_RETURN(setup.algo, SigningHashAlgoFromName(options.hash));
  ImaSection section;
  IMAB_ASSIGN_OR_RETURN(section.profile,
                        ParseKernelProfile(options.kernel_profile));
  if (!options.ima_key.empty()) {
    IMAB_ASSIGN_OR_RETURN(setup.ima_signer,
                          keys.LoadDigestSigner(options.ima_key,
                                                options.ima_certs[0]));
    IMAB_ASSIGN_OR_RETURN(auto cert,
                          DeclareCertificate(setup.ima_signer->certificate(),
                                             options.ima_certs[0]));
    IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(cert)));
    if (!setup.kernel_cas.empty()) {
      IMAB_RETURN_IF_ERROR(CheckAgainstKernelCas(
          *setup.ima_signer, options.ima_certs[0], setup, section.profile));
    }
    if (!options.evm_key.empty()) {
      IMAB_ASSIGN_OR_RETURN(setup.evm_signer,
                            keys.LoadDigestSigner(options.evm_key,
                                                  options.evm_cert));
      IMAB_ASSIGN_OR_RETURN(auto evm_cert,
                            DeclareCertificate(setup.evm_signer->certificate(),
                                               options.evm_cert));
      IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(evm_cert)));
      if (!setup.kernel_cas.empty()) {
        IMAB_RETURN_IF_ERROR(CheckAgainstKernelCas(
            *setup.evm_signer, options.evm_cert, setup, section.profile));
      }
    }
  } else {
    for (const std::string& path : options.ima_certs) {
      IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(path));
      IMAB_ASSIGN_OR_RETURN(auto declared, DeclareCertificate(cert.get(), path));
      IMAB_RETURN_IF_ERROR(AddCertificate(section, std::move(declared)));
    }
  }
  setup.section = std::move(section);
  return setup;
}

}  // namespace imab::builder
