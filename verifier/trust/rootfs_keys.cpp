#include "verifier/trust/rootfs_keys.h"

#include <openssl/x509.h>

#include "common/read/bytes.h"
#include "common/read/hex.h"
#include "common/read/printable.h"
#include "common/read/x509_util.h"

namespace imab::verifier {
namespace {

// What an empty `keyring` after reboot means for the device.
std::string NothingLoads(const std::string& keyring) {
  if (keyring == ".ima") {
    return ": this device boots without an initramfs, so its kernel would "
           "load no certificate into .ima after reboot and no security.ima "
           "signature would verify (every signed file it appraises would be "
           "refused, audit cause invalid-signature)";
  }
  // Without a key EVM stays off (evm_initialized lacks EVM_INIT_X509,
  // evm_verifyxattr() returns INTEGRITY_UNKNOWN) until user space switches
  // it on through securityfs, after which every portable signature fails.
  return ": this device boots without an initramfs, so its kernel would "
         "load no certificate into .evm after reboot: once EVM is switched "
         "on (EVM_INIT_X509 written to /sys/kernel/security/evm) no "
         "security.evm signature would verify and every file it appraises "
         "would be refused (audit cause invalid-fail-immutable); until then "
         "EVM would protect no file's metadata";
}

// True when `record` loads exactly the certificates `keys` predicts.
bool SameKeys(const InitramfsRecord& record, const RootfsKeys& keys) {
  auto same = [](const std::optional<Sha256Digest>& in_initramfs,
                 const RootfsKeyFile& key) {
    if (!in_initramfs.has_value() || key.cert == nullptr) {
      return !in_initramfs.has_value() && key.cert == nullptr;
    }
    return DigestEquals(*in_initramfs, key.der_sha256);
  };
  return same(record.evm_cert_sha256, keys.evm) &&
         same(record.ima_cert_sha256, keys.ima);
}

}  // namespace

std::vector<std::pair<uint32_t, Ptr<X509>>> DeclaredCertificates(
    const ManifestHeader& header) {
  std::vector<std::pair<uint32_t, Ptr<X509>>> out;
  if (!header.ima.has_value()) {
    return out;
  }
  for (const SigningCertificate& declared : header.ima->certificates) {
    Result<Ptr<X509>> cert =
        ParseCertificateDer(declared.der, "manifest ima certificate");
    if (cert.has_value()) {
      out.emplace_back(declared.keyid, std::move(*cert));
    }
  }
  return out;
}

std::optional<Sha256Digest> DerSha256(const X509* cert) {
  Result<std::string> der = CertificateDer(cert);
  if (!der.has_value()) {
    return std::nullopt;
  }
  Result<Sha256Digest> digest = Sha256Of(AsBytes(*der));
  return digest.has_value() ? std::optional(*digest) : std::nullopt;
}

RootfsKeysFinder::RootfsKeysFinder(const ManifestHeader& header,
                                   const std::vector<const X509*>& loaded) {
  std::vector<std::pair<uint32_t, Ptr<X509>>> certs =
      DeclaredCertificates(header);
  for (const X509* cert : loaded) {
    certs.emplace_back(0, X509_dup(cert));
  }
  for (auto& [keyid, cert] : certs) {
    std::optional<Sha256Digest> digest =
        cert == nullptr ? std::nullopt : DerSha256(cert.get());
    if (digest.has_value()) {
      known_.emplace_back(*digest, std::move(cert));
    }
  }
}

void RootfsKeysFinder::Add(const Entry& entry) {
  tree_.Add(entry);
  if (entry.path == kImaKeyFile || entry.path == kEvmKeyFile) {
    present_.insert(entry.path);
  }
  if (entry.type != EntryType::kFile) {
    return;
  }
  for (size_t i = 0; i < known_.size(); ++i) {
    if (DigestEquals(known_[i].first, entry.sha256)) {
      holds_known_[entry.path] = i;
      return;
    }
  }
}

RootfsKeyFile RootfsKeysFinder::Resolve(const std::string& path,
                                        const std::string& keyring) const {
  RootfsKeyFile key;
  key.path = path;
  key.keyring = keyring;
  const std::string shown = "/" + path;
  const CriticalClosure::Walked walked = tree_.Walk(path);
  if (!walked.error.empty() || walked.is_dir) {
    key.problem =
        (present_.count(path) == 0
             ? "the image has no " + shown
             : "the image's " + shown + " leads to no regular file (" +
                   (walked.is_dir ? std::string("a folder")
                                  : Printable(walked.error)) +
                   ")") +
        NothingLoads(keyring);
    return key;
  }
  auto known = holds_known_.find(walked.path);
  if (known == holds_known_.end()) {
    key.problem =
        "the image's " + shown +
        (walked.path == path ? "" : " (/" + Printable(walked.path) + ")") +
        " holds none of the certificates the manifest declares or the "
        "device has loaded: which key this device, booting without an "
        "initramfs, would load into " +
        keyring + " after reboot cannot be known before the payload streams";
    return key;
  }
  const auto& [digest, cert] = known_[known->second];
  key.cert.reset(X509_dup(cert.get()));
  key.der_sha256 = digest;
  return key;
}

RootfsKeys RootfsKeysFinder::Finish() const {
  return RootfsKeys{Resolve(kImaKeyFile, ".ima"), Resolve(kEvmKeyFile, ".evm")};
}

void RootfsCertificatesAfterReboot(const RootfsKeys& keys,
                                   const ManifestHeader& header,
                                   std::vector<std::string>& problems,
                                   std::vector<std::string>& notes,
                                   std::vector<Ptr<X509>>& ima,
                                   std::vector<Ptr<X509>>& evm) {
  for (const RootfsKeyFile* key : {&keys.ima, &keys.evm}) {
    if (key->cert == nullptr) {
      problems.push_back(key->problem);
      continue;
    }
    (key == &keys.ima ? ima : evm).emplace_back(X509_dup(key->cert.get()));
  }
  if (!header.keys.has_value()) {
    return;
  }
  for (const InitramfsRecord& record : header.keys->initramfs) {
    if (!SameKeys(record, keys)) {
      notes.push_back(
          "the bundle's initramfs /" + Printable(record.path) +
          " holds other etc/keys certificates than the image's /etc/keys "
          "(x509_evm.der sha256 " +
          HexEncode(record.evm_cert_sha256).substr(0, 16) +
          "...); this device boots without an initramfs, so only the root "
          "file system's /etc/keys count");
    }
  }
}

std::optional<std::string> EmptyKeyringProblem(const std::string& ring,
                                               const RootfsKeys* rootfs) {
  const std::string consequence =
      ring == ".ima" ? "nothing would be trusted after reboot"
                     : "no EVM signature would verify, nothing would be "
                       "trusted after reboot";
  if (rootfs == nullptr) {
    return "no certificate would load into " + ring +
           " after reboot: " + consequence;
  }
  const RootfsKeyFile& key = ring == ".ima" ? rootfs->ima : rootfs->evm;
  if (key.cert == nullptr) {
    return std::nullopt;  // its own line says why
  }
  return "the certificate in the image's /" + key.path +
         " would not load into " + ring + " after reboot: " + consequence;
}

}  // namespace imab::verifier
