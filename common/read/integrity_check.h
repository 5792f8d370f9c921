// ImaChecker: checks the security.ima and security.evm values of each entry
// against the signing certificates its manifest declares, the content
// digest computed while streaming, and the entry's metadata
// (ima-evm-formats.md §2, §4).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/digest_signature.h"
#include "common/read/entry.h"
#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/ima_xattr.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab {

// One failed IMA/EVM check of one file, for the rejection list.
struct IntegrityFailure {
  std::string path;
  std::string xattr;  // "security.ima" or "security.evm"
  // One line, e.g. "signed by keyid 1a2b3c4d, not declared by the manifest
  // {5e6f7a8b}".
  std::string reason;
};

class ImaChecker {
 public:
  // Loads the declared certificates (absent section: no certificate, so any
  // signature is from an unknown key). kMalformed when a certificate does
  // not parse, its SKID-derived keyid differs from the declared one, or
  // two share a keyid.
  static Result<ImaChecker> Create(const std::optional<ImaSection>& section);

  // Which digest of the content the IMA check needs, decided from the
  // entry's security.ima before its content streams: the algorithm of its
  // signature or digest, or nullopt when it has none (or it does not parse;
  // Check() reports that).
  std::optional<HashAlgo> ContentDigestAlgo(const Entry& entry) const;

  // Checks a kFile entry whose content hashed to `content_digest` with
  // ContentDigestAlgo(entry) (empty when that was nullopt). Appends one
  // failure per bad xattr to `failures`; returns how many it appended.
  // Rules: security.ima parses (ParseImaXattr); a signature's keyid is a
  // declared certificate; the signature verifies over content_digest; a
  // digest form equals content_digest. security.evm, when present, is a
  // portable signature (0x05) by a declared key that verifies over
  // EvmPortableDigest(entry, profile, its algo), and requires security.ima.
  // Entries of other types must carry neither xattr.
  size_t Check(const Entry& entry, std::span<const uint8_t> content_digest,
               std::vector<IntegrityFailure>* failures) const;

  size_t certificate_count() const { return keys_.size(); }

 private:
  struct Key {
    uint32_t keyid;
    Ptr<EVP_PKEY> public_key;
    // One per signing algorithm (sha256, sha384, sha512), set up once.
    std::vector<PreparedVerifyKey> prepared;
  };
  ImaChecker() = default;
  const Key* FindKey(uint32_t keyid) const;
  // Each returns the failure reason as the error message.
  Status VerifyBy(const SignatureV2& sig, std::span<const uint8_t> digest,
                  std::string_view over) const;
  Status CheckIma(const Xattr& ima,
                  std::span<const uint8_t> content_digest) const;
  Status CheckEvm(const Entry& entry, const Xattr& evm) const;

  std::vector<Key> keys_;
  KernelProfile profile_;
};

}  // namespace imab
