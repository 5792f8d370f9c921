// ImaChecker: the IMA/EVM part of the verifier's per-entry checks
// (ima-evm-formats.md §2.2, §3, §4.1-§4.2; FORMAT.md §3.3.1).
#include "common/read/integrity_check.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "common/read/digest_signature.h"
#include "common/read/evm_digest.h"
#include "common/read/ima_xattr.h"
#include "common/read/keyid.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"

namespace imab {

Result<ImaChecker> ImaChecker::Create(
    const std::optional<ImaSection>& section) {
  ImaChecker checker;
  if (!section.has_value()) {
    return checker;
  }
  checker.profile_ = section->profile;
  for (const SigningCertificate& declared : section->certificates) {
    std::string where = "ima certificate " + KeyIdHex(declared.keyid);
    // The kernel uses the first key matching a keyid; a duplicate would
    // make which key verifies a file depend on load order.
    if (checker.FindKey(declared.keyid) != nullptr) {
      return MakeError(ErrorCode::kMalformed, where + ": keyid declared twice");
    }
    // The declared bytes must be exactly the certificate the device loads.
    IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert,
                          ParseCertificateDer(declared.der, where));
    Result<uint32_t> keyid = KeyIdFromCertificate(cert.get());
    if (!keyid.has_value()) {
      return MakeError(ErrorCode::kMalformed,
                       where + ": " + keyid.error().message);
    }
    // The kernel finds the key by SKID, not by what the manifest claims.
    if (*keyid != declared.keyid) {
      return MakeError(
          ErrorCode::kMalformed,
          where + ": subjectKeyIdentifier gives keyid " + KeyIdHex(*keyid));
    }
    Ptr<EVP_PKEY> key(X509_get_pubkey(cert.get()));
    if (key == nullptr) {
      return OpenSslError(ErrorCode::kMalformed, where + ": public key");
    }
    Key entry{declared.keyid, std::move(key), {}};
    for (HashAlgo algo :
         {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
      Result<PreparedVerifyKey> prepared =
          PreparedVerifyKey::Create(entry.public_key.get(), algo);
      if (!prepared.has_value()) {
        return WithContext(std::move(prepared).error(), where);
      }
      entry.prepared.push_back(std::move(*prepared));
    }
    checker.keys_.push_back(std::move(entry));
  }
  return checker;
}

const ImaChecker::Key* ImaChecker::FindKey(uint32_t keyid) const {
  for (const Key& key : keys_) {
    if (key.keyid == keyid) {
      return &key;
    }
  }
  return nullptr;
}

std::optional<HashAlgo> ImaChecker::ContentDigestAlgo(
    const Entry& entry) const {
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (ima == nullptr) {
    return std::nullopt;
  }
  Result<ImaXattr> parsed = ParseImaXattr(ima->value);
  if (!parsed.has_value()) {
    return std::nullopt;
  }
  if (parsed->is_signature) {
    return parsed->signature.algo;
  }
  return parsed->digest_algo;
}

Status ImaChecker::VerifyBy(const SignatureV2& sig,
                            std::span<const uint8_t> digest,
                            std::string_view over) const {
  // Look up the one key the header names; never try the others.
  const Key* key = FindKey(sig.keyid);
  if (key == nullptr) {
    std::string declared;
    for (const Key& k : keys_) {
      declared += (declared.empty() ? "" : ", ") + KeyIdHex(k.keyid);
    }
    return MakeError(ErrorCode::kUnknownKey,
                     "signed by keyid " + KeyIdHex(sig.keyid) +
                         ", not declared by the manifest {" + declared + "}");
  }
  if (digest.size() != HashAlgoDigestSize(sig.algo)) {
    return MakeError(ErrorCode::kInternal,
                     "no " + std::string(HashAlgoName(sig.algo)) +
                         " digest to verify against");
  }
  auto prepared = std::find_if(
      key->prepared.begin(), key->prepared.end(),
      [&](const PreparedVerifyKey& p) { return p.algo() == sig.algo; });
  Status ok = prepared != key->prepared.end()
                  ? prepared->Verify(digest, sig.signature)
                  : VerifyDigestSignature(key->public_key.get(), sig.algo,
                                          digest, sig.signature);
  if (!ok.ok() && ok.error().code == ErrorCode::kBadSignature) {
    return MakeError(ErrorCode::kBadSignature,
                     "signature does not verify over " + std::string(over));
  }
  return ok;
}

Status ImaChecker::CheckIma(const Xattr& ima,
                            std::span<const uint8_t> content_digest) const {
  Result<ImaXattr> parsed = ParseImaXattr(ima.value);
  if (!parsed.has_value()) {
    return MakeError(ErrorCode::kMalformed,
                     "malformed: " + parsed.error().message);
  }
  if (parsed->is_signature) {
    return VerifyBy(parsed->signature, content_digest, "the content digest");
  }
  // A digest form: the kernel recomputes it, so it must match the content.
  const std::vector<uint8_t>& digest = parsed->digest;
  if (digest.size() != content_digest.size() ||
      CRYPTO_memcmp(digest.data(), content_digest.data(), digest.size()) != 0) {
    return MakeError(ErrorCode::kDigestMismatch,
                     std::string(HashAlgoName(parsed->digest_algo)) +
                         " digest does not match the content");
  }
  return OkStatus();
}

Status ImaChecker::CheckEvm(const Entry& entry, const Xattr& evm) const {
  // Only 0x05 survives shipping: 0x02 needs the device's HMAC key, and 0x03
  // binds the inode number and filesystem UUID of the build host.
  if (!evm.value.empty() && evm.value[0] == 0x02) {
    return MakeError(ErrorCode::kMalformed, "type 0x02 (HMAC) is not portable");
  }
  if (!evm.value.empty() && evm.value[0] == 0x03) {
    return MakeError(ErrorCode::kMalformed,
                     "type 0x03 (inode-bound signature) is not portable");
  }
  Result<SignatureV2> sig =
      ParseSignatureV2(evm.value, XattrType::kEvmPortableDigsig);
  if (!sig.has_value()) {
    return MakeError(ErrorCode::kMalformed,
                     "malformed: " + sig.error().message);
  }
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> digest,
                        EvmPortableDigest(entry, profile_, sig->algo));
  Status ok = VerifyBy(*sig, digest, "the file's metadata");
  if (!ok.ok() && ok.error().code == ErrorCode::kBadSignature) {
    return MakeError(ErrorCode::kBadSignature,
                     "EVM signature does not verify over the file's metadata "
                     "(mode, owner or protected xattrs changed after signing)");
  }
  return ok;
}

size_t ImaChecker::Check(const Entry& entry,
                         std::span<const uint8_t> content_digest,
                         std::vector<IntegrityFailure>* failures) const {
  const size_t before = failures->size();
  auto add = [&](std::string_view xattr, std::string reason) {
    failures->push_back(
        IntegrityFailure{entry.path, std::string(xattr), std::move(reason)});
  };
  const Xattr* ima = FindXattr(entry, kImaXattr);
  const Xattr* evm = FindXattr(entry, kEvmXattr);
  if (entry.type != EntryType::kFile) {
    // Only regular files are appraised; a value elsewhere is never checked
    // by the kernel, so it can only hide something.
    std::string why = "not allowed on a " +
                      std::string(EntryTypeName(entry.type)) +
                      ": only regular files carry IMA/EVM values";
    if (ima != nullptr) {
      add(kImaXattr, why);
    }
    if (evm != nullptr) {
      add(kEvmXattr, why);
    }
    return failures->size() - before;
  }
  if (ima != nullptr) {
    Status ok = CheckIma(*ima, content_digest);
    if (!ok.ok()) {
      add(kImaXattr, ok.error().message);
    }
  }
  if (evm != nullptr && ima == nullptr) {
    // The kernel refuses a portable EVM signature without security.ima.
    add(kEvmXattr, "security.evm without security.ima");
  } else if (evm != nullptr) {
    Status ok = CheckEvm(entry, *evm);
    if (!ok.ok()) {
      add(kEvmXattr, ok.error().message);
    }
  }
  return failures->size() - before;
}

}  // namespace imab
