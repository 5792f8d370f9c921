#include "verifier/trust_decision.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <set>

#include "common/bytes.h"
#include "common/digest.h"
#include "common/evm_digest.h"
#include "common/glob_match.h"
#include "common/hash_algo.h"
#include "common/hex.h"
#include "common/ima_xattr.h"
#include "common/kernel_keyring.h"
#include "common/keyid.h"
#include "common/path_parts.h"
#include "common/printable.h"
#include "common/x509_util.h"
#include "verifier/booted_kernel.h"

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

// What the device would visibly suffer if this file failed appraisal
// (ima-evm-formats.md §5.3; the behaviour seen on Linux 6.1 under QEMU).
std::string Consequence(const std::string& path, uint32_t mode, bool critical) {
  const std::string base = BaseName(path);
  if (critical &&
      (base.rfind("ld-linux", 0) == 0 || base.rfind("ld-musl", 0) == 0)) {
    return "the ELF interpreter: every dynamically linked program would be "
           "killed (SIGSEGV) at exec";
  }
  if (critical &&
      (base.rfind("libc.so", 0) == 0 || base.rfind("libc-", 0) == 0)) {
    return "every dynamically linked program, init included, would fail to "
           "map libc (ld.so exit 127, \"failed to map segment\")";
  }
  if (critical && (base == "init" || base == "systemd")) {
    return "the kernel could not start init (execve EACCES, \"Requested "
           "init failed (error -13)\"): the device would not boot";
  }
  if (critical && base == "imab-verify") {
    return "the updater could not run: no later update could repair the "
           "device";
  }
  if ((mode & 0111) != 0) {
    return "execve and mmap(PROT_EXEC) of it would fail with EACCES";
  }
  return "open() of it would fail with EACCES";
}

// Per finding: what decides its consequence.
struct FindingExtra {
  uint32_t mode = 0;
  std::string consequence;  // "" = Consequence() of `affects`
  std::string affects;      // the critical path that suffers; "" = itself
  bool audited = true;      // the kernel logs an audit cause for it
};

void SetConsequences(std::vector<TrustFinding>& files,
                     const std::vector<FindingExtra>& extra) {
  for (size_t i = 0; i < files.size(); ++i) {
    TrustFinding& f = files[i];
    const FindingExtra& e = extra[i];
    f.consequence = (e.audited ? "audit cause " + f.cause + "; " : "") +
                    (e.consequence.empty()
                         ? Consequence(e.affects.empty() ? f.path : e.affects,
                                       e.mode, f.critical)
                         : e.consequence);
  }
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
        Result<Ptr<X509>> cert = ParseCertificateDer(c.der);
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
  size_t listed = 0;
  constexpr size_t kListed = 10;
  for (const std::string& problem : keyring_problems) {
    out += (out.empty() ? "" : "; ") + problem;
  }
  if (!files.empty()) {
    out += (out.empty() ? "" : "; ") + std::to_string(files.size()) +
           " appraised file(s) would not be trusted after the update";
    for (const TrustFinding& f : files) {
      if (listed++ == kListed) {
        out += "; and " + std::to_string(files.size() - kListed) +
               " more (see --json)";
        break;
      }
      out += "; /" + Printable(f.path) + ": " + f.reason + " (" +
             f.consequence + ")";
    }
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
      closure_(device.critical, device.init) {}

TrustDecider::~TrustDecider() = default;

std::unique_ptr<TrustDecider::Keyring> TrustDecider::MakeKeyring(
    const std::string& name, const std::vector<Ptr<X509>>& certs,
    bool check_with_kernel, const std::vector<X509*>& kernel_cas,
    const KernelKeyringRules& rules, std::vector<std::string>& problems) {
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
      Status accepted =
          CheckKernelAcceptsCertificate(cert.get(), kernel_cas, rules);
      if (!accepted.ok()) {
        problems.push_back(
            who + " would be refused by the kernel when the " + name +
            " keys load (\"Problem loading X.509 certificate -126\"): " +
            accepted.error().message);
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
  std::vector<X509*> ca_ptrs;
  for (const Ptr<X509>& ca : kernel.cas) {
    ca_ptrs.push_back(ca.get());
    d->verdict_.kernel_ca_ders.push_back(CertificateDerOf(ca.get()));
  }

  // The certificates the kernel will try to load after reboot.
  std::vector<Ptr<X509>> next_ima, next_evm;
  d->rootfs_keys_load_ = CertificatesAfterReboot(
      header, device, rootfs, d->verdict_, next_ima, next_evm);

  KernelKeyringRules rules;
  rules.require_digital_signature = kernel.newest >= KernelVersion{6, 6};
  auto build = [&](const std::string& name, std::vector<Ptr<X509>>& certs,
                   bool check_with_kernel) {
    return MakeKeyring(name, certs, check_with_kernel, ca_ptrs, rules,
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
  // The running kernel already holds its keys; they are not re-checked,
  // and what is wrong with them is the device's affair.
  std::vector<Ptr<X509>> running_ima = CopyAll(device.ima_certs);
  std::vector<Ptr<X509>> running_evm = CopyAll(device.evm_certs);
  std::vector<std::string> ignored;
  d->running_ima_ =
      MakeKeyring(".ima", running_ima, false, ca_ptrs, rules, ignored);
  d->running_evm_ =
      MakeKeyring(".evm", running_evm, false, ca_ptrs, rules, ignored);
  d->RecordNextKeyrings();
  return d;
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
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (ima == nullptr) {
    return std::make_pair(
        std::string("no security.ima"),
        std::string(signature_required ? "IMA-signature-required"
                                       : "missing-hash"));
  }
  Result<ImaXattr> parsed = ParseImaXattr(ima->value);
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
  const Xattr* evm = FindXattr(entry, kEvmXattr);
  if (evm == nullptr) {
    return std::make_pair(std::string("no security.evm"),
                          std::string("missing-HMAC"));
  }
  Result<SignatureV2> sig =
      ParseSignatureV2(evm->value, XattrType::kEvmPortableDigsig);
  if (!sig.has_value()) {
    if (signature_required && !parsed->is_signature) {
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

void TrustDecider::AddFinding(const Entry& entry, bool critical,
                              std::string reason, const std::string& cause) {
  verdict_.files.push_back(
      TrustFinding{entry.path, critical, std::move(reason), cause, ""});
  finding_modes_.push_back(entry.mode);
}

void TrustDecider::RememberIfUntrusted(const Entry& entry) {
  std::optional<std::pair<std::string, std::string>> failure =
      CheckUnder(*next_ima_, *next_evm_, entry, true);
  if (!failure.has_value() && device_.in_place) {
    failure = CheckUnder(*running_ima_, *running_evm_, entry, true);
    if (failure.has_value()) {
      failure->first = "replaced in place before reboot, but " + failure->first;
    }
  }
  if (failure.has_value()) {
    untrusted_[entry.path] =
        Untrusted{failure->first, failure->second, entry.mode};
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
      Result<Ptr<X509>> a = ParseCertificateDer(declared.der);
      Result<Ptr<X509>> b = ParseCertificateDer(held->der);
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

// The findings so far plus the files the closure makes critical; with
// `after_stream`, also what the content showed.
TrustVerdict TrustDecider::Verdict(bool after_stream) const {
  TrustVerdict verdict = verdict_;
  CheckRootfsKeyFiles(verdict.keyring_problems);
  std::vector<FindingExtra> extra;
  const CriticalClosure::Outcome closure = closure_.Resolve(after_stream);
  std::set<std::string> named;
  for (size_t i = 0; i < verdict.files.size(); ++i) {
    TrustFinding& finding = verdict.files[i];
    named.insert(finding.path);
    extra.push_back({finding_modes_[i], "", "", true});
    auto critical = closure.files.find(finding.path);
    if (critical != closure.files.end() && !finding.critical) {
      finding.critical = true;
      extra.back().affects = critical->second;
    }
  }
  auto add = [&](const std::string& path, const Untrusted& why, bool critical,
                 FindingExtra more) {
    if (named.insert(path).second) {
      verdict.files.push_back({path, critical, why.reason, why.cause, ""});
      more.mode = why.mode;
      extra.push_back(std::move(more));
    }
  };
  for (const auto& [path, why] : content_failures_) {
    auto critical = closure.files.find(path);
    const bool is_critical = critical != closure.files.end();
    if (after_stream && (is_critical || content_checked_.count(path) != 0)) {
      add(path, why, is_critical, {0, "", is_critical ? critical->second : ""});
    }
  }
  for (const auto& [path, needed_by] : closure.files) {
    auto it = untrusted_.find(path);
    if (it != untrusted_.end()) {
      add(path, it->second, true, {0, "", needed_by});
    }
  }
  for (const ClosureProblem& problem : closure.problems) {
    // No audit record: the exec fails before IMA is asked.
    add(problem.path, Untrusted{problem.reason, problem.cause, 0755}, true,
        {0, problem.consequence, problem.affects, false});
  }
  verdict.critical_files =
      std::max<uint64_t>(verdict.critical_files, closure.files.size());
  SetConsequences(verdict.files, extra);
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
  const bool critical = AnyMatch(device_.critical, entry.path);
  if (entry.type != EntryType::kFile) {
    return;
  }
  Appraisal appraisal = device_.policy.Evaluate(entry);
  if (!appraisal.appraised && !critical) {
    RememberIfUntrusted(entry);
    return;
  }
  ++verdict_.appraised_files;
  if (critical) {
    ++verdict_.critical_files;
  }
  if (ContentDigestAlgo(entry).has_value()) {
    content_checked_.insert(entry.path);
  }
  // Demands of the policy beyond a verifying signature (verity, hash).
  if (auto unmet = UnmetPolicyDemand(entry, appraisal)) {
    AddFinding(entry, critical, unmet->first, unmet->second);
    return;
  }
  // Critical files must carry signatures whatever the policy says.
  const bool signature_required = appraisal.signature_required || critical;
  const size_t findings = verdict_.files.size();
  if (auto failure =
          CheckUnder(*next_ima_, *next_evm_, entry, signature_required)) {
    AddFinding(entry, critical, failure->first, failure->second);
    return;
  }
  if (device_.in_place) {
    if (auto failure = CheckUnder(*running_ima_, *running_evm_, entry,
                                  signature_required)) {
      AddFinding(entry, critical,
                 "replaced in place before reboot, but " + failure->first,
                 failure->second);
    }
  }
  if (!signature_required && verdict_.files.size() == findings) {
    RememberIfUntrusted(entry);
  }
}

TrustVerdict TrustDecider::Finish() { return Verdict(false); }

TrustVerdict TrustDecider::FinishContent() const { return Verdict(true); }

}  // namespace imab::verifier
