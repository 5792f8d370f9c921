// ImaSetup: the IMA/EVM material of one build, loaded from the build
// options before any entry streams: the signers (re-signing) or the
// certificates kept signatures must verify under (--keep-signatures), the
// manifest's `ima` section declaring them, and the kernel CAs a signing
// certificate must satisfy.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "builder/bundle_builder.h"
#include "builder/digest_signer.h"
#include "builder/private_keys.h"
#include "common/handles.h"
#include "common/hash_algo.h"
#include "common/manifest.h"
#include "common/result.h"

namespace imab::builder {

struct ImaSetup {
  std::vector<Ptr<X509>> kernel_cas;
  std::unique_ptr<DigestSigner> ima_signer;
  std::unique_ptr<DigestSigner> evm_signer;  // null: ima_signer signs EVM
  std::optional<ImaSection> section;
  HashAlgo algo = HashAlgo::kSha256;
};

// Loads what `options` names: kernel CAs (--kernel-ca), then with --ima-key
// the signers and their certificates (refused when the kernel CAs would not
// load them, when two share a keyid, or beyond kMaxSigningCerts), or with
// --keep-signatures the --ima-cert certificates. Without either, only the
// kernel CAs and no section.
Result<ImaSetup> LoadImaSetup(const BuildOptions& options, PrivateKeys& keys);

}  // namespace imab::builder
