#include "common/read/kernel_keyring.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "common/read/digest_signature.h"
#include "common/read/kernel_x509.h"
#include "common/read/x509_util.h"

namespace imab {
namespace {

// A rule broken under one rule set: why, and what the kernel then does.
struct Broken {
  std::string why;
  int kernel_error = 0;
};
using Verdict = std::optional<Broken>;

struct Subject {
  X509* cert;  // OpenSSL getters take non-const
  std::optional<std::span<X509* const>> cas;
};

Verdict ValidityTimes(const Subject& s, const KernelKeyringRules&) {
  for (const auto& [name, time] :
       {std::pair{"notBefore", X509_get0_notBefore(s.cert)},
        std::pair{"notAfter", X509_get0_notAfter(s.cert)}}) {
    std::string problem = KernelTimeProblem(time);
    if (!problem.empty()) {
      return Broken{std::string(name) + " the kernel cannot read: " + problem,
                    kKernelBadMessage};
    }
  }
  return std::nullopt;
}

Verdict UsageEncoding(const Subject& s, const KernelKeyringRules& rules) {
  if (!rules.parses_usage_extensions) {
    return std::nullopt;
  }
  std::string problem = KernelUsageFlagsOf(s.cert).problem;
  if (problem.empty()) {
    return std::nullopt;
  }
  return Broken{problem, kKernelBadMessage};
}

Verdict AkidIssuerNames(const Subject& s, const KernelKeyringRules& rules) {
  if (!rules.akid_issuer_directory_names_only ||
      !AkidIssuerHasOtherNames(s.cert)) {
    return std::nullopt;
  }
  return Broken{
      "authorityKeyIdentifier names its issuer by something other than a "
      "directoryName, which this kernel's AKID grammar cannot parse",
      kKernelBadMessage};
}

// x509_note_sig_algo: PKCS#1 v1.5 RSA or ECDSA over SHA-1 or SHA-2 in
// every studied kernel (RSA-PSS, Ed25519, ... fail with -ENOPKG). SHA-3
// (6.12 only, and only with CONFIG_CRYPTO_SHA3) is left out: refusing it
// everywhere fails closed.
Verdict SignatureAlgorithm(const Subject& s, const KernelKeyringRules&) {
  static constexpr std::array<int, 10> kKnown = {
      NID_sha1WithRSAEncryption,   NID_sha224WithRSAEncryption,
      NID_sha256WithRSAEncryption, NID_sha384WithRSAEncryption,
      NID_sha512WithRSAEncryption, NID_ecdsa_with_SHA1,
      NID_ecdsa_with_SHA224,       NID_ecdsa_with_SHA256,
      NID_ecdsa_with_SHA384,       NID_ecdsa_with_SHA512};
  const int nid = X509_get_signature_nid(s.cert);
  if (std::find(kKnown.begin(), kKnown.end(), nid) != kKnown.end()) {
    return std::nullopt;
  }
  return Broken{std::string("signed with ") + OBJ_nid2sn(nid) +
                    ", which the kernel's X.509 parser does not know "
                    "(it takes RSA PKCS#1 v1.5 or ECDSA with SHA-1/SHA-2)",
                kKernelNoPackage};
}

Verdict KeyType(const Subject& s, const KernelKeyringRules&) {
  const EVP_PKEY* key = X509_get0_pubkey(s.cert);
  Status type = CheckKernelKeyType(key);
  if (type.ok()) {
    return std::nullopt;
  }
  // RSA and EC keys load (their size matters when a signature is
  // verified); other algorithms fail to parse.
  const int id = key == nullptr ? 0 : EVP_PKEY_get_base_id(key);
  const bool loads = id == EVP_PKEY_RSA || id == EVP_PKEY_EC;
  return Broken{type.error().message, loads ? 0 : kKernelNoPackage};
}

// x509_check_for_self_signed: a certificate whose subject is its issuer is
// taken as self-signed unless its AKID names another key, and then its own
// key must verify it (-EKEYREJECTED fails the parse).
Verdict SelfSignature(const Subject& s, const KernelKeyringRules&) {
  const KernelKeyIds own = KernelKeyIdsOf(s.cert);
  const KernelAuthIds auth = KernelAuthIdsOf(s.cert);
  if (own.id2 != auth.a2) {
    return std::nullopt;
  }
  if (auth.a0.has_value() || auth.a1.has_value()) {
    const bool by_keyid = own.id1.has_value() && own.id1 == auth.a1;
    const bool by_serial = auth.a0.has_value() && *auth.a0 == own.id0;
    if (!by_keyid && !by_serial) {
      return std::nullopt;
    }
    if (by_keyid != by_serial && auth.a0.has_value() && auth.a1.has_value()) {
      return Broken{
          "its subject is its issuer and its authorityKeyIdentifier "
          "names itself by one id but not the other",
          kKernelRejected};
    }
  }
  const int verified = X509_verify(s.cert, X509_get0_pubkey(s.cert));
  ERR_clear_error();
  if (verified == 1) {
    return std::nullopt;
  }
  return Broken{
      "its subject is its issuer, so the kernel takes it as "
      "self-signed, and its own key does not verify its signature",
      kKernelRejected};
}

Verdict DigitalSignature(const Subject& s, const KernelKeyringRules& rules) {
  if (!rules.signing_usage_only) {
    return std::nullopt;
  }
  if (ExtensionBytes(s.cert, NID_key_usage) == std::nullopt) {
    return Broken{"no keyUsage extension (digitalSignature required)",
                  kKernelNoKey};
  }
  if (!KernelUsageFlagsOf(s.cert).digital_signature) {
    return Broken{"keyUsage lacks digitalSignature", kKernelNoKey};
  }
  return std::nullopt;
}

Verdict NotCa(const Subject& s, const KernelKeyringRules& rules) {
  if (!rules.signing_usage_only) {
    return std::nullopt;
  }
  KernelUsageFlags flags = KernelUsageFlagsOf(s.cert);
  if (flags.ca) {
    return Broken{"basicConstraints CA:TRUE", kKernelNoKey};
  }
  if (flags.key_cert_sign) {
    return Broken{"keyUsage has keyCertSign", kKernelNoKey};
  }
  return std::nullopt;
}

enum class Lookup { kNoMatch, kMatch, kSecondIdDiffers };

// What find_asymmetric_key makes of `ca` for a certificate naming its
// issuer by `auth`: the first id present (a0, else a1) must equal the CA's
// id0 or id1; with both, a1 must then equal the CA's SKID. Without an AKID
// the issuer name must equal the CA's subject.
Lookup MatchCa(const KernelAuthIds& auth, const KernelKeyIds& ca) {
  if (!auth.a0.has_value() && !auth.a1.has_value()) {
    return auth.a2 == ca.id2 ? Lookup::kMatch : Lookup::kNoMatch;
  }
  const std::string& first = auth.a0.has_value() ? *auth.a0 : *auth.a1;
  if (first != ca.id0 && (!ca.id1.has_value() || first != *ca.id1)) {
    return Lookup::kNoMatch;
  }
  if (auth.a0.has_value() && auth.a1.has_value() && ca.id1 != auth.a1) {
    return Lookup::kSecondIdDiffers;
  }
  return Lookup::kMatch;
}

std::string NoCaFound(const KernelAuthIds& auth, const X509* cert) {
  if (auth.a0.has_value()) {
    return "no kernel CA has the serial number and issuer its "
           "authorityKeyIdentifier names";
  }
  if (auth.a1.has_value()) {
    return "no kernel CA's subjectKeyIdentifier is its authorityKeyIdentifier "
           "keyid";
  }
  return "it has no authorityKeyIdentifier and no kernel CA's subject is its "
         "issuer (" +
         IssuerLine(cert) + ")";
}

// restrict_link_by_signature: the CA the lookup finds must have signed it.
// When several kernel CAs match, the kernel takes whichever it finds
// first, so each must do.
Verdict ChainsToCa(const Subject& s, const KernelKeyringRules&) {
  const KernelAuthIds auth = KernelAuthIdsOf(s.cert);
  std::vector<X509*> found;
  for (X509* ca : *s.cas) {
    switch (MatchCa(auth, KernelKeyIdsOf(ca))) {
      case Lookup::kNoMatch:
        break;
      case Lookup::kSecondIdDiffers:
        return Broken{
            "the kernel CA its authorityKeyIdentifier serial and "
            "issuer name has another subjectKeyIdentifier than its "
            "keyid",
            kKernelNoKey};
      case Lookup::kMatch:
        found.push_back(ca);
        break;
    }
  }
  if (found.empty()) {
    return Broken{NoCaFound(auth, s.cert), kKernelNoKey};
  }
  for (X509* ca : found) {
    Status usable = CheckKernelKeyType(X509_get0_pubkey(ca));
    if (!usable.ok()) {
      return Broken{
          "its kernel CA (" + SubjectLine(ca) +
              ") has a key imabundle does not take: " + usable.error().message,
          kKernelRejected};
    }
    const int verified = X509_verify(s.cert, X509_get0_pubkey(ca));
    ERR_clear_error();
    if (verified != 1) {
      return Broken{
          "its signature does not verify with the key of the "
          "kernel CA it names (" +
              SubjectLine(ca) + ")",
          kKernelRejected};
    }
  }
  return std::nullopt;
}

// Signatures name their key by 4 bytes the kernel matches against the tail
// of a key's id0 or id1 (request_asymmetric_key, "id:%08x"): we and evmctl
// use the SKID's tail, so a usable key needs a SKID of 4 bytes or more.
Verdict HasSkid(const Subject& s, const KernelKeyringRules&) {
  const KernelSkid skid = KernelSkidOf(s.cert);
  if (!skid.present) {
    return Broken{
        "no subjectKeyIdentifier: the kernel loads it, but a "
        "signature's keyid then matches only the last 4 bytes of "
        "its issuer name, never a keyid imabundle or evmctl writes",
        0};
  }
  if (skid.malformed) {
    return Broken{
        "subjectKeyIdentifier is not an OCTET STRING of 1 byte or "
        "more",
        kKernelBadMessage};
  }
  if (skid.bytes.size() < 4) {
    return Broken{"subjectKeyIdentifier shorter than the 4-byte keyid", 0};
  }
  return std::nullopt;
}

struct Rule {
  const char* name;
  Verdict (*judge)(const Subject&, const KernelKeyringRules&);
};

// In the order the kernel meets them: parsing, restrict_link_by_digsig,
// restrict_link_by_signature, then the key lookup of every signature.
constexpr std::array<Rule, 10> kRules = {{
    {"validity_times", ValidityTimes},
    {"usage_encoding", UsageEncoding},
    {"akid_issuer_names", AkidIssuerNames},
    {"signature_algorithm", SignatureAlgorithm},
    {"key_type", KeyType},
    {"self_signature", SelfSignature},
    {"digital_signature", DigitalSignature},
    {"not_ca", NotCa},
    {"chains_to_ca", ChainsToCa},
    {"has_skid", HasSkid},
}};

// A studied rule set under which no rule is broken, or null.
const KernelKeyringRules* AcceptingRuleSet(
    const std::vector<KeyringRuleOutcome>& outcomes) {
  for (const KernelKeyringRules& rules : StudiedKernelKeyringRules()) {
    const bool accepts = std::none_of(
        outcomes.begin(), outcomes.end(), [&](const KeyringRuleOutcome& o) {
          return std::find(o.broken_under.begin(), o.broken_under.end(),
                           &rules) != o.broken_under.end();
        });
    if (accepts) {
      return &rules;
    }
  }
  return nullptr;
}

}  // namespace

std::string RefusalContext(const KeyringRuleOutcome& outcome,
                           const KernelKeyringRules& refusing,
                           const KernelTarget& target,
                           const std::vector<KeyringRuleOutcome>& outcomes) {
  if (outcome.broken_under.size() == StudiedKernelKeyringRules().size()) {
    return {};
  }
  std::string context = " (" + target.Why(refusing);
  const KernelKeyringRules* other =
      target.known() ? nullptr : AcceptingRuleSet(outcomes);
  if (other != nullptr) {
    context +=
        "; --kernel-version " + KernelVersionName(other->kernel) + " targets " +
        (other->kernel < refusing.kernel ? "an older" : "a newer") + " kernel";
  }
  return context + ")";
}

std::vector<KeyringRuleOutcome> EvaluateKeyringRules(
    const X509* cert, std::optional<std::span<X509* const>> cas) {
  const Subject subject{const_cast<X509*>(cert), cas};
  std::vector<KeyringRuleOutcome> outcomes;
  for (const Rule& rule : kRules) {
    KeyringRuleOutcome outcome;
    outcome.name = rule.name;
    outcome.checked = rule.judge != ChainsToCa || cas.has_value();
    for (const KernelKeyringRules& rules : StudiedKernelKeyringRules()) {
      Verdict verdict =
          outcome.checked ? rule.judge(subject, rules) : std::nullopt;
      if (!verdict.has_value()) {
        continue;
      }
      if (outcome.broken.empty()) {
        outcome.broken = std::move(verdict->why);
        outcome.kernel_error = verdict->kernel_error;
      }
      outcome.broken_under.push_back(&rules);
    }
    outcomes.push_back(std::move(outcome));
  }
  ERR_clear_error();
  return outcomes;
}

std::optional<KeyringRefusal> FindKeyringRefusal(const X509* cert,
                                                 std::span<X509* const> cas,
                                                 const KernelTarget& target) {
  const std::vector<KeyringRuleOutcome> outcomes =
      EvaluateKeyringRules(cert, cas);
  for (const KeyringRuleOutcome& outcome : outcomes) {
    auto refusing = std::find_if(
        outcome.broken_under.begin(), outcome.broken_under.end(),
        [&](const KernelKeyringRules* r) { return target.Applies(*r); });
    if (refusing == outcome.broken_under.end()) {
      continue;
    }
    return KeyringRefusal{
        outcome.broken + RefusalContext(outcome, **refusing, target, outcomes),
        outcome.kernel_error};
  }
  return std::nullopt;
}

Status CheckKernelAcceptsCertificate(const X509* cert,
                                     std::span<X509* const> cas,
                                     const KernelTarget& target) {
  std::optional<KeyringRefusal> refusal = FindKeyringRefusal(cert, cas, target);
  if (!refusal.has_value()) {
    return OkStatus();
  }
  return MakeError(ErrorCode::kBadSignature, std::move(refusal->message));
}

}  // namespace imab
