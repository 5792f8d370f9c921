#include "verifier/trust/trust_decision.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <set>

#include "common/read/bytes.h"
#include "common/read/digest.h"
#include "common/read/evm_digest.h"
#include "common/read/failure_list.h"
#include "common/read/glob_match.h"
#include "common/read/hash_algo.h"
#include "common/read/hex.h"
#include "common/read/ima_xattr.h"
#include "common/read/kernel_keyring.h"
#include "common/read/keyid.h"
#include "common/read/path_parts.h"
#include "common/read/printable.h"
#include "common/read/x509_util.h"
#include "verifier/trust/booted_kernel.h"

namespace imab::verifier {

// A keyring as the kernel will hold it: certificates by keyid, each with
// its public key set up for the three signing hash algorithms.
struct TrustDecider::Keyring {
  struct Key {
    uint32_t keyid = 0;
    std::string der;
    std::vector<PreparedVerifyKey> prepared;
  };
  std::string name;  // ".ima" / ".evm"
  std::vector<Key> keys;

  const Key* Find(uint32_t keyid) const {
    for (const Key& key : keys) {
      if (key.keyid == keyid) {
        return &key;
      }
    }
    return nullptr;
  }

  std::string Describe() const {
    std::string out = "{";
    for (size_t i = 0; i < keys.size(); ++i) {
      out += (i == 0 ? "" : ", ") + KeyIdHex(keys[i].keyid);
    }
    return out + "}";
  }

  // The signature by `keyid` over `digest`: nullopt when it verifies, else
  // why not.
  std::optional<std::string> Check(const SignatureV2& sig,
                                   std::span<const uint8_t> digest,
                                   const std::string& which,
                                   const std::string& keyring_role) const {
    const Key* key = Find(sig.keyid);
    if (key == nullptr) {
      return which + " signed by keyid " + KeyIdHex(sig.keyid) +
             ", not in the " + keyring_role + " " + name + " keyring " +
             Describe();
    }
    for (const PreparedVerifyKey& prepared : key->prepared) {
      if (prepared.algo() == sig.algo) {
        if (prepared.Verify(digest, sig.signature).ok()) {
          return std::nullopt;
        }
        return which + " signature by keyid " + KeyIdHex(sig.keyid) +
               " does not verify";
      }
    }
    return which + " uses hash " + std::string(HashAlgoName(sig.algo)) +
           ", which the kernel keyring check does not support";
  }
};

namespace {

Result<Sha256Digest> DerSha256(const X509* cert) {
  IMAB_ASSIGN_OR_RETURN(std::string der, CertificateDer(cert));
  return Sha256Of(AsBytes(der));
}

// Empty when OpenSSL cannot encode it (a certificate it parsed).
std::string CertificateDerOf(const X509* cert) {
  Result<std::string> der = CertificateDer(cert);
  return der.has_value() ? std::move(der).value() : std::string();
}

Ptr<X509> Copy(const X509* cert) { return Ptr<X509>(X509_dup(cert)); }

std::vector<Ptr<X509>> CopyAll(const std::vector<Ptr<X509>>& certs) {
  std::vector<Ptr<X509>> copies;
  for (const Ptr<X509>& cert : certs) {
    copies.push_back(Copy(cert.get()));
  }
  return copies;
}

bool AnyMatch(const std::vector<std::string>& patterns,
              const std::string& path) {
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, path)) {
      return true;
    }
  }
  return false;
}

// The certificates every initramfs the image ships loads into .ima and
// .evm (any of them may be the one that boots), each found among the
// manifest's declared signing certificates by its SHA-256. Needs
// header.keys.
void KeysAfterReboot(const ManifestHeader& header,
                     std::vector<std::string>& problems,
                     std::vector<Ptr<X509>>& next_ima,
                     std::vector<Ptr<X509>>& next_evm) {
  auto declared = [&](const Sha256Digest& digest,
                      const std::string& where) -> Ptr<X509> {
    if (header.ima.has_value()) {
      for (const SigningCertificate& c : header.ima->certificates) {
        Result<Ptr<X509>> cert =
            ParseCertificateDer(c.der, "manifest ima certificate");
        if (!cert.has_value()) {
          continue;
        }
        Result<Sha256Digest> sha = DerSha256(cert->get());
        if (sha.has_value() && DigestEquals(*sha, digest)) {
          return std::move(*cert);
        }
      }
    }
    problems.push_back(where + " holds a certificate (sha256 " +
                       HexEncode(digest) + ") the manifest does not declare");
    return nullptr;
  };
  // Each initramfs the image ships may be the one that boots: a key
  // counts only if every one of them loads it.
  bool first = true;
  for (const InitramfsRecord& record : header.keys->initramfs) {
    Ptr<X509> evm =
        declared(record.evm_cert_sha256,
                 "/" + Printable(record.path) + " etc/keys/x509_evm.der");
    Ptr<X509> ima;
    if (record.ima_cert_sha256.has_value()) {
      ima = declared(*record.ima_cert_sha256,
                     "/" + Printable(record.path) + " etc/keys/x509_ima.der");
    }
    auto keep = [&](std::vector<Ptr<X509>>& ring, Ptr<X509> cert) {
      if (first) {
        if (cert != nullptr) {
          ring.push_back(std::move(cert));
        }
        return;
      }
      ring.erase(std::remove_if(ring.begin(), ring.end(),
                                [&](const Ptr<X509>& have) {
                                  return cert == nullptr ||
                                         X509_cmp(have.get(), cert.get()) != 0;
                                }),
                 ring.end());
    };
    keep(next_evm, std::move(evm));
    keep(next_ima, std::move(ima));
    first = false;
  }
}

// The certificates the kernel will try to load into .ima and .evm after
// reboot: from the image's /etc/keys on a device that boots no initramfs
// (`rootfs`), else from every initramfs the bundle ships, else the ones
// loaded now. True when the device may still boot without an initramfs
// and load the image's /etc/keys (CheckRootfsKeyFiles).
bool CertificatesAfterReboot(const ManifestHeader& header,
                             const DeviceTrust& device,
                             const RootfsKeys* rootfs, TrustVerdict& verdict,
                             std::vector<Ptr<X509>>& next_ima,
                             std::vector<Ptr<X509>>& next_evm) {
  if (rootfs != nullptr) {
    RootfsCertificatesAfterReboot(*rootfs, header, verdict.keyring_problems,
                                  verdict.notes, next_ima, next_evm);
    return false;
  }
  if (header.keys.has_value() && !header.keys->initramfs.empty()) {
    KeysAfterReboot(header, verdict.keyring_problems, next_ima, next_evm);
    return false;
  }
  next_ima = CopyAll(device.ima_certs);
  next_evm = CopyAll(device.evm_certs);
  return true;
}

// True when `seen` already holds `keyid`. The same certificate twice is
// harmless; another one with that keyid in the ring `ring` is a problem.
bool KeyIdSeen(const std::vector<std::pair<uint32_t, const X509*>>& seen,
               uint32_t keyid, const X509* cert, const std::string& ring,
               std::vector<std::string>& problems) {
  bool duplicate = false;
  for (const auto& [id, other] : seen) {
    if (id == keyid && X509_cmp(other, cert) != 0) {
      problems.push_back(
          "two certificates in " + ring + " share keyid " + KeyIdHex(keyid) +
          ": which one checks a file would depend on load order");
      duplicate = true;
    } else if (id == keyid) {
      duplicate = true;
    }
  }
  return duplicate;
}

}  // namespace

std::string TrustVerdict::Summary() const {
  std::string notes_text;
  for (const std::string& note : notes) {
    notes_text += "; note: " + note;
  }
  if (accepted()) {
    std::string ids;
    for (uint32_t id : ima_keyids) {
      ids += (ids.empty() ? "" : ", ") + KeyIdHex(id);
    }
    return std::to_string(appraised_files) +
           " appraised files verify under the post-update keyring {" + ids +
           "}" + notes_text;
  }
  std::string out;
  for (const std::string& problem : keyring_problems) {
    out += (out.empty() ? "" : "; ") + problem;
  }
  if (!files.empty()) {
    auto describe = [&](size_t i) {
      return "/" + Printable(files[i].path) + ": " + files[i].reason + " (" +
             files[i].consequence + ")";
    };
    out += (out.empty() ? "" : "; ") + std::to_string(files.size()) +
           " appraised file(s) would not be trusted after the update; " +
           ListFirstFailures(files.size(), describe, " (see --json)");
  }
  return out + notes_text;
}

namespace {

// The kernel that boots after the update loads the device's IMA policy;
// one that refuses it keeps its boot policy, and nothing decided from the
// policy would hold. Each kernel that may boot parses it with its grammar.
void CheckPolicyForKernels(const DeviceTrust& device,
                           const std::set<KernelVersion>& versions,
                           std::vector<std::string>& problems) {
  if (device.policy_text.empty()) {
    return;  // the built-in policy
  }
  for (const KernelVersion& version : versions) {
    PolicyContext context = device.policy_context;
    context.grammar.version = version;
    Result<ImaPolicy> parsed =
        ImaPolicy::Parse(device.policy_text, device.policy_where, context);
    if (!parsed.has_value()) {
      problems.push_back(
          "the Linux " + std::to_string(version.major) + "." +
          std::to_string(version.minor) +
          " kernel that may boot after the update refuses the IMA policy "
          "and keeps its boot policy: " +
          parsed.error().message);
    }
  }
}

}  // namespace

TrustDecider::TrustDecider(const ManifestHeader& header,
                           const DeviceTrust& device)
    : header_(header),
      device_(device),
      policy_(device.policy),
      closure_(device.critical, device.init) {}

TrustDecider::~TrustDecider() = default;

std::unique_ptr<TrustDecider::Keyring> TrustDecider::MakeKeyring(
    const std::string& name, const std::vector<Ptr<X509>>& certs,
    bool check_with_kernel, const std::vector<X509*>& kernel_cas,
    const KernelTarget& target, std::vector<std::string>& problems) {
  auto ring = std::make_unique<Keyring>();
  ring->name = name;
  std::vector<std::pair<uint32_t, const X509*>> seen;
  for (const Ptr<X509>& cert : certs) {
    Result<uint32_t> keyid = KeyIdFromCertificate(cert.get());
    std::string who = "certificate \"" + SubjectLine(cert.get()) + "\"";
    if (!keyid.has_value()) {
      problems.push_back(who + " for " + name + ": " + keyid.error().message);
      continue;
    }
    who = "certificate " + KeyIdHex(*keyid) + " (" + SubjectLine(cert.get()) +
          ")";
    if (check_with_kernel) {
      std::optional<KeyringRefusal> refusal =
          FindKeyringRefusal(cert.get(), kernel_cas, target);
      if (refusal.has_value()) {
        problems.push_back(
            who +
            (refusal->kernel_error != 0
                 ? " would be refused by the kernel when the " + name +
                       " keys load (\"Problem loading X.509 certificate " +
                       std::to_string(refusal->kernel_error) + "\"): "
                 : " would load into " + name +
                       " but no signature could use it: ") +
            refusal->message);
        continue;
      }
    }
    const bool duplicate = KeyIdSeen(seen, *keyid, cert.get(), name, problems);
    seen.emplace_back(*keyid, cert.get());
    if (duplicate) {
      continue;
    }
    Keyring::Key key;
    key.keyid = *keyid;
    key.der = CertificateDerOf(cert.get());
    Ptr<EVP_PKEY> pub(X509_get_pubkey(cert.get()));
    for (HashAlgo algo :
         {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
      Result<PreparedVerifyKey> prepared =
          PreparedVerifyKey::Create(pub.get(), algo);
      if (prepared.has_value()) {
        key.prepared.push_back(std::move(*prepared));
      }
    }
    if (key.prepared.empty()) {
      problems.push_back(who + ": the kernel cannot verify with its key");
      continue;
    }
    ring->keys.push_back(std::move(key));
  }
  return ring;
}

Result<std::unique_ptr<TrustDecider>> TrustDecider::Create(
    const ManifestHeader& header, const DeviceTrust& device,
    const RootfsKeys* rootfs) {
  if (device.boots_without_initramfs != (rootfs != nullptr)) {
    return MakeError(ErrorCode::kInternal,
                     "the image's /etc/keys are given exactly for a device "
                     "that boots without an initramfs");
  }
  std::unique_ptr<TrustDecider> d(new TrustDecider(header, device));
  std::vector<std::string>& problems = d->verdict_.keyring_problems;
  const BootedKernel kernel = KernelAfterReboot(header, device, problems);
  d->profile_ = kernel.profile;
  if (kernel.shipped) {
    d->verdict_.kernel_profile = kernel.profile;
    d->verdict_.kernel_version = kernel.newest;
  }
  CheckPolicyForKernels(device, kernel.may_boot, problems);
  // Each kernel that may boot applies the policy at its own hooks.
  d->policy_.set_mmap_reqprot(std::any_of(kernel.may_boot.begin(),
                                          kernel.may_boot.end(),
                                          [](const KernelVersion& v) {
                                            return v > KernelVersion{6, 1};
                                          }));
  std::vector<X509*> ca_ptrs;
  for (const Ptr<X509>& ca : kernel.cas) {
    ca_ptrs.push_back(ca.get());
    d->verdict_.kernel_ca_ders.push_back(CertificateDerOf(ca.get()));
  }

  // The certificates the kernel will try to load after reboot.
  std::vector<Ptr<X509>> next_ima, next_evm;
  d->rootfs_keys_load_ = CertificatesAfterReboot(
      header, device, rootfs, d->verdict_, next_ima, next_evm);

  // Every kernel that may boot loads the keys: each one's rules hold.
  const std::vector<KernelVersion> may_boot_list(kernel.may_boot.begin(),
                                                 kernel.may_boot.end());
  const KernelTarget target = KernelTarget::ForVersions(may_boot_list);
  auto build = [&](const std::string& name, std::vector<Ptr<X509>>& certs,
                   bool check_with_kernel) {
    return MakeKeyring(name, certs, check_with_kernel, ca_ptrs, target,
                       problems);
  };
  d->next_ima_ = build(".ima", next_ima, true);
  d->next_evm_ = build(".evm", next_evm, true);
  for (const Keyring* ring : {d->next_ima_.get(), d->next_evm_.get()}) {
    if (!ring->keys.empty()) {
      continue;
    }
    if (std::optional<std::string> why =
            EmptyKeyringProblem(ring->name, rootfs)) {
      problems.push_back(*why);
    }
  }
  d->MakeRunningKeyrings(ca_ptrs, target);
  d->RecordNextKeyrings();
  return d;
}

void TrustDecider::MakeRunningKeyrings(const std::vector<X509*>& ca_ptrs,
                                       const KernelTarget& target) {
  // The running kernel already holds its keys; they are not re-checked,
  // and what is wrong with them is the device's affair.
  std::vector<Ptr<X509>> running_ima = CopyAll(device_.ima_certs);
  std::vector<Ptr<X509>> running_evm = CopyAll(device_.evm_certs);
  std::vector<std::string> ignored;
  running_ima_ =
      MakeKeyring(".ima", running_ima, false, ca_ptrs, target, ignored);
  running_evm_ =
      MakeKeyring(".evm", running_evm, false, ca_ptrs, target, ignored);
}

void TrustDecider::RecordNextKeyrings() {
  for (const Keyring::Key& key : next_ima_->keys) {
    verdict_.ima_keyids.push_back(key.keyid);
    verdict_.ima_cert_ders.push_back(key.der);
  }
  for (const Keyring::Key& key : next_evm_->keys) {
    verdict_.evm_keyids.push_back(key.keyid);
    verdict_.evm_cert_ders.push_back(key.der);
  }
}

std::optional<std::pair<std::string, std::string>> TrustDecider::CheckUnder(
    const Keyring& ima_ring, const Keyring& evm_ring, const Entry& entry,
    bool signature_required) const {
  const std::string role =
      &ima_ring == next_ima_.get() ? "post-update" : "running";
  Result<ImaXattr> parsed = MakeError(ErrorCode::kInternal, "not read");
  if (std::optional<std::pair<std::string, std::string>> why =
          CheckImaUnder(ima_ring, role, entry, signature_required, parsed)) {
    return why;
  }
  return CheckEvmUnder(evm_ring, role, entry,
                       signature_required && !parsed->is_signature);
}

std::optional<std::pair<std::string, std::string>> TrustDecider::CheckImaUnder(
    const Keyring& ima_ring, const std::string& role, const Entry& entry,
    bool signature_required, Result<ImaXattr>& parsed) const {
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (ima == nullptr) {
    return std::make_pair(
        std::string("no security.ima"),
        std::string(signature_required ? "IMA-signature-required"
                                       : "missing-hash"));
  }
  parsed = ParseImaXattr(ima->value);
  if (!parsed.has_value()) {
    return std::make_pair("security.ima malformed: " + parsed.error().message,
                          std::string("invalid-signature-version"));
  }
  if (!parsed->is_signature) {
    // A digest is protected by the EVM signature; it must match the
    // content (SHA-256 is the one the manifest pins, the streaming
    // ImaChecker compares the others). Even where a signature is required
    // the kernel takes it when EVM verified a portable signature
    // (xattr_verify: INTEGRITY_PASS_IMMUTABLE), which the EVM check below
    // demands of every file.
    if (parsed->kernel_reads_md5) {
      return std::make_pair(
          std::string("security.ima is a 0x01 SHA-1 digest ending in four "
                      "zero bytes, which the kernel reads as an MD5 digest "
                      "(ima_get_hash_algo) that the content does not match"),
          std::string("invalid-hash"));
    }
    if (parsed->digest_algo == HashAlgo::kSha256 &&
        (parsed->digest.size() != entry.sha256.size() ||
         CRYPTO_memcmp(parsed->digest.data(), entry.sha256.data(),
                       entry.sha256.size()) != 0)) {
      return std::make_pair(
          std::string("security.ima digest differs from the content"),
          std::string("invalid-hash"));
    }
  } else {
    // Only SHA-256 is pinned by the manifest; other algorithms are checked
    // against the content while it streams (keyid here, signature there).
    std::span<const uint8_t> digest;
    if (parsed->signature.algo == HashAlgo::kSha256) {
      digest = entry.sha256;
    }
    if (digest.empty()) {
      if (ima_ring.Find(parsed->signature.keyid) == nullptr) {
        return std::make_pair("security.ima signed by keyid " +
                                  KeyIdHex(parsed->signature.keyid) +
                                  ", not in the " + role + " .ima keyring " +
                                  ima_ring.Describe(),
                              std::string("invalid-signature"));
      }
    } else if (std::optional<std::string> why = ima_ring.Check(
                   parsed->signature, digest, "security.ima", role)) {
      return std::make_pair(*why, std::string("invalid-signature"));
    }
  }
  return std::nullopt;
}

// `digest_needs_signature`: security.ima holds a digest where the policy
// requires a signature, so only a portable EVM signature makes it pass.
std::optional<std::pair<std::string, std::string>> TrustDecider::CheckEvmUnder(
    const Keyring& evm_ring, const std::string& role, const Entry& entry,
    bool digest_needs_signature) const {
  const Xattr* evm = FindXattr(entry, kEvmXattr);
  if (evm == nullptr) {
    return std::make_pair(std::string("no security.evm"),
                          std::string("missing-HMAC"));
  }
  Result<SignatureV2> sig =
      ParseSignatureV2(evm->value, XattrType::kEvmPortableDigsig);
  if (!sig.has_value()) {
    if (digest_needs_signature) {
      return std::make_pair(
          "security.ima holds a digest and security.evm is not a portable "
          "signature (" +
              sig.error().message + "); the policy requires a signature",
          std::string("IMA-signature-required"));
    }
    return std::make_pair(
        "security.evm is not a portable signature: " + sig.error().message,
        std::string("invalid-HMAC"));
  }
  Result<std::vector<uint8_t>> digest =
      EvmPortableDigest(entry, profile_, sig->algo);
  if (!digest.has_value()) {
    return std::make_pair("EVM digest: " + digest.error().message,
                          std::string("invalid-HMAC"));
  }
  if (std::optional<std::string> why =
          evm_ring.Check(*sig, *digest, "security.evm", role)) {
    if (evm_ring.Find(sig->keyid) != nullptr) {
      *why +=
          " over the file's metadata (mode, owner or labels changed "
          "after signing)";
    }
    return std::make_pair(*why, std::string("invalid-fail-immutable"));
  }
  return std::nullopt;
}

void TrustDecider::AddFinding(const Entry& entry, bool critical, unsigned reach,
                              Untrusted why, std::vector<HookAccess> hooks) {
  verdict_.files.push_back(TrustFinding{entry.path, critical,
                                        std::move(why.reason), why.cause, "",
                                        HookNames(hooks)});
  finding_info_.push_back({entry.mode, reach, std::move(hooks), "", true});
}

std::optional<TrustDecider::Untrusted> TrustDecider::CheckKeys(
    const Entry& entry, bool signature_required) const {
  std::optional<std::pair<std::string, std::string>> failure =
      CheckUnder(*next_ima_, *next_evm_, entry, signature_required);
  if (!failure.has_value() && device_.in_place) {
    failure =
        CheckUnder(*running_ima_, *running_evm_, entry, signature_required);
    if (failure.has_value()) {
      failure->first = "replaced in place before reboot, but " + failure->first;
    }
  }
  if (!failure.has_value()) {
    return std::nullopt;
  }
  return Untrusted{std::move(failure->first), std::move(failure->second),
                   entry.mode};
}

// Verity first (a flag the inode carries into every appraisal), then the
// signature, then appraise_algos, which process_measurement() checks only
// after the appraisal passed, at each hook with its own list.
std::optional<std::pair<TrustDecider::Untrusted, std::vector<HookAccess>>>
TrustDecider::Judge(const Entry& entry, const Appraisal& appraisal,
                    const std::optional<Untrusted>& keys) const {
  if (!appraisal.appraised) {
    return std::nullopt;
  }
  std::optional<PolicyFailure> unmet = UnmetPolicyDemand(entry, appraisal);
  if (keys.has_value() &&
      !(unmet.has_value() && unmet->cause == "no-verity-digest")) {
    std::vector<HookAccess> all;
    for (const HookDemand& demand : appraisal.hooks) {
      all.push_back(demand.access);
    }
    return std::make_pair(*keys, std::move(all));
  }
  if (unmet.has_value()) {
    return std::make_pair(Untrusted{std::move(unmet->reason),
                                    std::move(unmet->cause), entry.mode},
                          std::move(unmet->hooks));
  }
  return std::nullopt;
}

// A file with an execute bit that is not a program by name (ld.so is
// one) is opened with open_exec() only when a program names it as its
// interpreter, which its content shows later: what that would add is kept.
void TrustDecider::RememberAsInterpreter(const Entry& entry,
                                         const Appraisal& own,
                                         const std::optional<Untrusted>& keys) {
  if ((entry.mode & 0111) == 0 || (ReachOf(entry) & kReachExec) != 0) {
    return;
  }
  AsInterpreter as;
  for (auto [reach, hooks] :
       {std::pair{kReachElfInterpreter, &as.elf}, {kReachExec, &as.script}}) {
    Appraisal role = policy_.Evaluate(entry, reach);
    role.verity_required = role.verity_required || own.verity_required;
    role.verity_rule = own.verity_required ? own.verity_rule : role.verity_rule;
    std::optional<Untrusted> role_keys = keys;
    if (!own.appraised && role.appraised) {
      role_keys = CheckKeys(entry, role.signature_required);
    }
    if (auto failure = Judge(entry, role, role_keys)) {
      *hooks = std::move(failure->second);
      as.failure = std::move(failure->first);
    } else if (!own.appraised && role.appraised) {
      for (const HookDemand& demand : role.hooks) {
        hooks->push_back(demand.access);  // a content failure may show
      }
    }
  }
  if (!as.elf.empty() || !as.script.empty()) {
    as_interpreter_[entry.path] = std::move(as);
  }
}

// True when the ring holds no key with `keyid` (the manifest pass named the
// file) or the key of the certificate the manifest declares for it: the
// streaming ImaChecker, which the bundle must pass, then verifies every
// signature by that keyid under the ring's own key.
bool TrustDecider::DeclaredKeyIs(const Keyring& ring, uint32_t keyid) {
  auto cached = same_key_.find({&ring, keyid});
  if (cached != same_key_.end()) {
    return cached->second;
  }
  const Keyring::Key* held = ring.Find(keyid);
  bool same = held == nullptr;
  if (held != nullptr && header_.ima.has_value()) {
    for (const SigningCertificate& declared : header_.ima->certificates) {
      Result<Ptr<X509>> a =
          ParseCertificateDer(declared.der, "manifest ima certificate");
      Result<Ptr<X509>> b =
          ParseCertificateDer(held->der, "device keyring certificate");
      if (declared.keyid == keyid && a.has_value() && b.has_value()) {
        same = EVP_PKEY_eq(X509_get0_pubkey(a->get()),
                           X509_get0_pubkey(b->get())) == 1;
      }
    }
  }
  same_key_[{&ring, keyid}] = same;
  return same;
}

std::optional<HashAlgo> TrustDecider::ContentDigestAlgo(const Entry& entry) {
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (entry.type != EntryType::kFile || ima == nullptr) {
    return std::nullopt;
  }
  Result<ImaXattr> parsed = ParseImaXattr(ima->value);
  if (!parsed.has_value() || !parsed->is_signature ||
      parsed->signature.algo == HashAlgo::kSha256) {
    return std::nullopt;  // the manifest pins SHA-256: checked already
  }
  const uint32_t keyid = parsed->signature.keyid;
  if (DeclaredKeyIs(*next_ima_, keyid) &&
      (!device_.in_place || DeclaredKeyIs(*running_ima_, keyid))) {
    return std::nullopt;
  }
  return parsed->signature.algo;
}

void TrustDecider::ConsiderContent(const Entry& entry,
                                   std::span<const uint8_t> digest) {
  if (!ContentDigestAlgo(entry).has_value()) {
    return;
  }
  const SignatureV2 sig =
      ParseImaXattr(FindXattr(entry, kImaXattr)->value)->signature;
  // A keyid the ring lacks was named from the manifest already; here the
  // key that has it must also be the key that signed.
  auto verifies = [&](const Keyring& ring, const std::string& role,
                      const std::string& prefix) {
    if (ring.Find(sig.keyid) == nullptr) {
      return true;
    }
    std::optional<std::string> why =
        ring.Check(sig, digest, "security.ima", role);
    if (!why.has_value()) {
      return true;
    }
    content_failures_[entry.path] = Untrusted{
        prefix + *why + " over the content's " +
            std::string(HashAlgoName(sig.algo)) + " digest under the " + role +
            " " + ring.name +
            " key with that keyid (another key with the same keyid signed "
            "it)",
        "invalid-signature", entry.mode};
    return false;
  };
  if (verifies(*next_ima_, "post-update", "") && device_.in_place) {
    verifies(*running_ima_, "running", "replaced in place before reboot, but ");
  }
}

void TrustDecider::ConsiderProgram(const std::string& path, ProgramDeps deps) {
  if (!deps.interpreter.empty() && programs_.count(path) != 0) {
    interpreters_.emplace(deps.interpreter, deps.script);
  }
  closure_.AddProgramDeps(path, std::move(deps));
}

// Without an initramfs the kernel loads these from the root file system
// (init/main.c: integrity_load_keys() after prepare_namespace()).
void TrustDecider::CheckRootfsKeyFiles(
    std::vector<std::string>& problems) const {
  if (!rootfs_keys_load_) {
    return;
  }
  for (const char* key_file : kRootfsKeyFiles) {
    const Keyring& ring =
        std::string_view(key_file).find("evm") != std::string_view::npos
            ? *next_evm_
            : *next_ima_;
    const std::string where = "the image's /" + std::string(key_file);
    const CriticalClosure::Walked walked = closure_.Walk(key_file);
    auto digest = file_sha256_.find(walked.path);
    if (!walked.error.empty() || walked.is_dir ||
        digest == file_sha256_.end()) {
      if (rootfs_key_entries_.count(key_file) != 0) {
        problems.push_back(where + " leads to no regular file (" +
                           (walked.error.empty() ? "a folder" : walked.error) +
                           "); a device booting without an initramfs would "
                           "load no certificate from it");
      }
      continue;
    }
    bool held = false;
    for (const Keyring::Key& key : ring.keys) {
      Result<Sha256Digest> der = Sha256Of(AsBytes(key.der));
      held = held || (der.has_value() && DigestEquals(*der, digest->second));
    }
    if (!held) {
      problems.push_back(where + " (sha256 " + HexEncode(digest->second) +
                         ") is not the certificate the device will load into " +
                         ring.name + " " + ring.Describe() +
                         "; a device booting without an initramfs would "
                         "load it");
    }
  }
}

namespace {

// The init the kernel starts: device.conf's `init`, else its search.
bool IsInitPath(const std::string& path, const std::string& init) {
  if (!init.empty()) {
    return path == WithoutLeadingSlashes(init);
  }
  const std::vector<std::string>& search = KernelInitSearch();
  return std::find(search.begin(), search.end(), path) != search.end();
}

FileUse UseByName(const std::string& path, uint32_t mode) {
  const std::string base = BaseName(path);
  if (base.rfind("ld-linux", 0) == 0 || base.rfind("ld-musl", 0) == 0) {
    return FileUse::kElfInterpreter;
  }
  if (IsSharedObjectName(path)) {
    return FileUse::kLibrary;
  }
  return (mode & 0111) != 0 ? FileUse::kProgram : FileUse::kData;
}

FileUse UseOf(CriticalClosure::Role role, const std::string& affects,
              uint32_t mode) {
  switch (role) {
    case CriticalClosure::Role::kNamed:
      return UseByName(affects, mode);
    case CriticalClosure::Role::kInit:
      return FileUse::kProgram;
    case CriticalClosure::Role::kElfInterpreter:
      return FileUse::kElfInterpreter;
    case CriticalClosure::Role::kScriptInterpreter:
      return FileUse::kScriptInterpreter;
    case CriticalClosure::Role::kLibrary:
      return FileUse::kLibrary;
  }
  return FileUse::kData;
}

void AppendNew(std::vector<HookAccess>& to,
               const std::vector<HookAccess>& more) {
  for (const HookAccess& access : more) {
    if (std::find(to.begin(), to.end(), access) == to.end()) {
      to.push_back(access);
    }
  }
}

}  // namespace

// Interpreters the programs' content names: the accesses open_exec() (and
// for "#!" ones execve) add, where they make the kernel refuse the file.
void TrustDecider::AddInterpreterFindings(
    const CriticalClosure::Outcome& closure, TrustVerdict& verdict,
    std::vector<FindingInfo>& info) const {
  for (const auto& [interpreter, script] : interpreters_) {
    const CriticalClosure::Walked walked = closure_.Walk(interpreter);
    auto as = as_interpreter_.find(walked.path);
    if (!walked.error.empty() || as == as_interpreter_.end()) {
      continue;
    }
    const std::vector<HookAccess>& hooks =
        script ? as->second.script : as->second.elf;
    const unsigned reach = script ? kReachExec : kReachElfInterpreter;
    size_t i = 0;
    while (i < verdict.files.size() && verdict.files[i].path != walked.path) {
      ++i;
    }
    if (i < verdict.files.size()) {
      AppendNew(info[i].hooks, hooks);
      info[i].reach |= reach;
      continue;
    }
    std::optional<Untrusted> why = as->second.failure;
    auto content = content_failures_.find(walked.path);
    if (!why.has_value() && content != content_failures_.end()) {
      why = content->second;
    }
    if (!why.has_value() || hooks.empty()) {
      continue;
    }
    verdict.files.push_back({walked.path,
                             closure.files.count(walked.path) != 0,
                             why->reason,
                             why->cause,
                             "",
                             {}});
    info.push_back({why->mode, kReachOpen | reach, hooks, "", true});
  }
}

void TrustDecider::SetConsequences(const CriticalClosure::Outcome& closure,
                                   TrustVerdict& verdict,
                                   const std::vector<FindingInfo>& info) const {
  for (size_t i = 0; i < verdict.files.size(); ++i) {
    TrustFinding& f = verdict.files[i];
    const FindingInfo& about = info[i];
    RefusedFile refused;
    refused.path = f.path;
    refused.hooks = about.hooks;
    auto critical = closure.files.find(f.path);
    f.critical = f.critical || critical != closure.files.end();
    refused.critical = f.critical;
    if (critical != closure.files.end()) {
      const CriticalClosure::Critical& c = critical->second;
      refused.use = UseOf(c.role, c.affects, about.mode);
      refused.affects = c.affects;
      refused.dependency = c.role != CriticalClosure::Role::kNamed &&
                           c.role != CriticalClosure::Role::kInit;
      refused.affects_init = c.role == CriticalClosure::Role::kInit ||
                             IsInitPath(c.affects, device_.init);
    } else if ((about.reach & kReachExec) != 0) {
      refused.use = IsSharedObjectName(f.path) ? FileUse::kScriptInterpreter
                                               : FileUse::kProgram;
    } else if ((about.reach & kReachElfInterpreter) != 0) {
      refused.use = FileUse::kElfInterpreter;
    } else {
      refused.use = UseByName(f.path, about.mode);
    }
    f.hooks = HookNames(about.hooks);
    const std::string effect = !about.consequence.empty()
                                   ? about.consequence
                                   : HookConsequence(refused);
    f.consequence =
        (about.audited ? "audit cause " + f.cause + "; " : "") + effect;
  }
}

std::map<std::string, std::pair<TrustDecider::Untrusted, std::string>>
TrustDecider::OwnCriticalFailures(const CriticalClosure::Outcome& closure,
                                  bool after_stream) const {
  std::map<std::string, std::pair<Untrusted, std::string>> out;
  for (const auto& [named, file] : closure.named) {
    auto it = untrusted_.find(file);
    auto content = content_failures_.find(file);
    const Untrusted* why = it != untrusted_.end() ? &it->second
                           : after_stream && content != content_failures_.end()
                               ? &content->second
                               : nullptr;
    for (const std::string& pattern : device_.owner_critical) {
      if (why != nullptr && GlobMatch(pattern, named)) {
        out.emplace(file, std::make_pair(*why, pattern));
      }
    }
  }
  return out;
}

// The critical files the closure could not trust: device.conf's own
// `critical =` patterns, and the programs' missing or untrusted needs.
void TrustDecider::AddClosureFindings(const CriticalClosure::Outcome& closure,
                                      bool after_stream,
                                      const AddFindingFn& add) const {
  for (const auto& [path, failure] :
       OwnCriticalFailures(closure, after_stream)) {
    const auto& [why, pattern] = failure;
    add(path, why, true,
        {0,
         kReachOpen,
         {},
         "the IMA policy appraises it at no hook, so the kernel would not "
         "refuse it; device.conf's `critical = " +
             pattern + "` requires it to verify",
         false});
  }
  for (const ClosureProblem& problem : closure.problems) {
    // No audit record: the exec fails before IMA is asked.
    const std::string& affects =
        problem.affects.empty() ? problem.path : problem.affects;
    add(problem.path, Untrusted{problem.reason, problem.cause, 0755}, true,
        {0,
         kReachOpen,
         {},
         problem.consequence.empty()
             ? MissingConsequence(affects, IsInitPath(affects, device_.init))
             : problem.consequence,
         false});
  }
}

// The findings so far plus what the closure and the programs' interpreters
// add; with `after_stream`, also what the content showed.
TrustVerdict TrustDecider::Verdict(bool after_stream) const {
  TrustVerdict verdict = verdict_;
  std::vector<FindingInfo> info = finding_info_;
  CheckRootfsKeyFiles(verdict.keyring_problems);
  const CriticalClosure::Outcome closure = closure_.Resolve(after_stream);
  std::set<std::string> listed;
  for (const TrustFinding& f : verdict.files) {
    listed.insert(f.path);
  }
  auto add = [&](const std::string& path, const Untrusted& why, bool critical,
                 FindingInfo about) {
    if (listed.insert(path).second) {
      verdict.files.push_back({path, critical, why.reason, why.cause, "", {}});
      about.mode = why.mode;
      info.push_back(std::move(about));
    }
  };
  for (const auto& [path, why] : content_failures_) {
    auto appraised = content_checked_.find(path);
    if (after_stream && appraised != content_checked_.end()) {
      add(path, why, false, {0, kReachOpen, appraised->second, "", true});
    }
  }
  if (after_stream) {
    AddInterpreterFindings(closure, verdict, info);
    for (const TrustFinding& f : verdict.files) {
      listed.insert(f.path);
    }
  }
  AddClosureFindings(closure, after_stream, add);
  verdict.critical_files =
      std::max<uint64_t>(verdict.critical_files, closure.files.size());
  SetConsequences(closure, verdict, info);
  std::stable_partition(verdict.files.begin(), verdict.files.end(),
                        [](const TrustFinding& f) { return f.critical; });
  return verdict;
}

void TrustDecider::Consider(const Entry& entry) {
  closure_.Add(entry);
  if (rootfs_keys_load_ && entry.type == EntryType::kFile) {
    file_sha256_[entry.path] = entry.sha256;
  }
  for (const char* key_file : kRootfsKeyFiles) {
    if (entry.path == key_file) {
      rootfs_key_entries_.insert(entry.path);
    }
  }
  if (entry.type != EntryType::kFile) {
    return;
  }
  const unsigned reach = ReachOf(entry);
  if ((reach & kReachExec) != 0) {
    programs_.insert(entry.path);
  }
  const Appraisal appraisal = policy_.Evaluate(entry, reach);
  // Unappraised, it must verify only for an owner's critical pattern.
  const std::optional<Untrusted> keys = CheckKeys(
      entry, appraisal.appraised ? appraisal.signature_required : true);
  RememberAsInterpreter(entry, appraisal, keys);
  if (!appraisal.appraised) {
    if (keys.has_value()) {
      untrusted_[entry.path] = *keys;
    }
    return;
  }
  ++verdict_.appraised_files;
  const bool critical = AnyMatch(device_.critical, entry.path);
  if (critical) {
    ++verdict_.critical_files;
  }
  if (ContentDigestAlgo(entry).has_value()) {
    std::vector<HookAccess>& hooks = content_checked_[entry.path];
    for (const HookDemand& demand : appraisal.hooks) {
      hooks.push_back(demand.access);
    }
  }
  if (auto failure = Judge(entry, appraisal, keys)) {
    AddFinding(entry, critical, reach, std::move(failure->first),
               std::move(failure->second));
  }
}

TrustVerdict TrustDecider::Finish() { return Verdict(false); }

TrustVerdict TrustDecider::FinishContent() const { return Verdict(true); }

}  // namespace imab::verifier
