// ImaSetup: the IMA/EVM material of one build, loaded from the build
// options before any entry streams: the signers (re-signing) or the
// certificates kept signatures must verify under (--keep-signatures), the
// manifest's `ima` section declaring them, and the kernel CAs a signing
// certificate must satisfy.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/bundle_builder.h"
#include "builder/digest_signer.h"
#include "builder/private_keys.h"
#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/kernel_keyring_rules.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab::builder {

struct ImaSetup {
  std::vector<Ptr<X509>> kernel_cas;
  // The device kernels whose keyring rules hold (--kernel-version; without
  // it every studied kernel's, unless --kernel-profile lists its xattrs,
  // which only a kernel before 5.14 needs).
  KernelTarget target = KernelTarget::Unknown();
  std::unique_ptr<DigestSigner> ima_signer;
  std::unique_ptr<DigestSigner> evm_signer;  // null: ima_signer signs EVM
  std::vector<Ptr<X509>> kept_certs;  // --keep-signatures: each --ima-cert
  std::optional<ImaSection> section;
  HashAlgo algo = HashAlgo::kSha256;
};

// A certificate the device kernel is to load into .ima or .evm, and the
// file it came from (for messages).
struct KeyringCertificate {
  std::string path;
  const X509* cert;
};

// The signers' certificates (IMA, then EVM) or the kept ones.
std::vector<KeyringCertificate> KeyringCertificates(
    const ImaSetup& setup, const BuildOptions& options);

// Refuses (kInvalidArgument naming the file and `kernels`, "the device
// kernel" or the kernels the image ships) a keyring certificate a kernel of
// `target` would not load or could not use under setup.kernel_cas. OK when
// there are no kernel CAs to judge by.
Status CheckKeyringCertificates(const ImaSetup& setup,
                                const BuildOptions& options,
                                const KernelTarget& target,
                                const std::string& kernels);

// Loads what `options` names: kernel CAs (--kernel-ca) and the target
// kernel, then with --ima-key the signers and their certificates, or with
// --keep-signatures the --ima-cert certificates; refused when the kernel
// CAs would not load them (CheckKeyringCertificates), when two share a
// keyid, or beyond kMaxSigningCerts. Without either, only the kernel CAs
// and no section. kInvalidArgument for a bad --kernel-version.
Result<ImaSetup> LoadImaSetup(const BuildOptions& options, PrivateKeys& keys);

}  // namespace imab::builder
