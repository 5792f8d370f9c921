#include "verifier/trust/trust_decision.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "common/read/bytes.h"
#include "common/read/digest.h"
#include "common/read/digest_signature.h"
#include "common/read/evm_digest.h"
#include "common/read/failure_list.h"
#include "common/read/glob_match.h"
#include "common/read/hex.h"
#include "common/read/ima_xattr.h"
#include "common/read/kernel_keyring.h"
#include "common/read/keyid.h"
#include "common/read/path_parts.h"
#include "common/read/printable.h"
#include "common/read/x509_util.h"
#include "verifier/trust/hook_consequence.h"

namespace imab::verifier {
namespace {

// A keyring as the kernel will hold it: certificates by keyid, each with
// its public key set up for the three signing hash algorithms.
struct Keyring {
  struct Key {
    uint32_t keyid = 0;
    std::string der;
    std::vector<PreparedVerifyKey> prepared;
  };
  std::string name;  // ".ima" / ".evm"
  std::string role;  // "post-update" / "running"
  std::vector<Key> keys;

  const Key* Find(uint32_t keyid) const {
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const Key& k) { return k.keyid == keyid; });
    return key == keys.end() ? nullptr : &*key;
  }

  std::string Describe() const {
    std::string out;
    for (const Key& key : keys) {
      out += (out.empty() ? "" : ", ") + KeyIdHex(key.keyid);
    }
    return "{" + out + "}";
  }

  std::string NotIn(const std::string& which, uint32_t keyid) const {
    return which + " signed by keyid " + KeyIdHex(keyid) + ", not in the " +
           role + " " + name + " keyring " + Describe();
  }

  // The signature by `keyid` over `digest`: nullopt when it verifies, else
  // why not.
  std::optional<std::string> Check(const SignatureV2& sig,
                                   std::span<const uint8_t> digest,
                                   const std::string& which) const {
    const Key* key = Find(sig.keyid);
    if (key == nullptr) {
      return NotIn(which, sig.keyid);
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

// Why a file would fail appraisal: one line and the kernel's audit cause.
struct Untrusted {
  std::string reason;
  std::string cause;
  uint32_t mode = 0;
};

// Why and at which accesses the kernel would refuse a file.
struct Refusal {
  Untrusted why;
  std::vector<HookAccess> hooks;
};

// What being an interpreter adds for a file that is not a program: the
// accesses at which it then fails as an ELF interpreter (open_exec) and
// as a script's "#!" interpreter (execve), when the policy appraises it
// there. `failure` is set when the manifest already shows it failing.
struct AsInterpreter {
  std::optional<Untrusted> failure;
  std::vector<HookAccess> elf, script;
};

// A finding while the verdict gathers them: what decides its hooks and
// its consequence.
struct Pending {
  std::string path;
  bool critical = false;
  Untrusted why = {};
  unsigned reach = kReachOpen;  // Reach bits
  std::vector<HookAccess> hooks = {};
  std::string consequence = "";  // "" = HookConsequence()
  bool audited = true;           // the kernel logs an audit cause for it
};

// The findings of one verdict in order; the first one for a path counts.
struct FindingList {
  explicit FindingList(std::vector<Pending> first) : all(std::move(first)) {
    for (size_t i = 0; i < all.size(); ++i) {
      index.emplace(all[i].path, i);
    }
  }
  Pending* Find(const std::string& path) {
    auto it = index.find(path);
    return it == index.end() ? nullptr : &all[it->second];
  }
  void Add(Pending finding) {
    if (index.emplace(finding.path, all.size()).second) {
      all.push_back(std::move(finding));
    }
  }
  std::vector<Pending> all;
  std::map<std::string, size_t> index;
};

// What a keyring's certificates are checked against: the CAs and rules of
// the kernels that may boot.
struct KernelCheck {
  std::vector<X509*> cas;
  KernelTarget target;
};

// Empty when OpenSSL cannot encode it (a certificate it parsed).
std::string CertificateDerOf(const X509* cert) {
  Result<std::string> der = CertificateDer(cert);
  return der.has_value() ? std::move(der).value() : std::string();
}

std::vector<Ptr<X509>> CopyAll(const std::vector<Ptr<X509>>& certs) {
  std::vector<Ptr<X509>> copies;
  for (const Ptr<X509>& cert : certs) {
    copies.emplace_back(X509_dup(cert.get()));
  }
  return copies;
}

std::vector<HookAccess> Accesses(const Appraisal& appraisal) {
  std::vector<HookAccess> out;
  for (const HookDemand& demand : appraisal.hooks) {
    out.push_back(demand.access);
  }
  return out;
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
    }
    duplicate = duplicate || id == keyid;
  }
  return duplicate;
}

std::string RefusalLine(const std::string& who, const std::string& ring,
                        const KeyringRefusal& refusal) {
  return who +
         (refusal.kernel_error != 0
              ? " would be refused by the kernel when the " + ring +
                    " keys load (\"Problem loading X.509 certificate " +
                    std::to_string(refusal.kernel_error) + "\"): "
              : " would load into " + ring +
                    " but no signature could use it: ") +
         refusal.message;
}

// The keyring `name` as the kernel would hold it with `certs` loaded:
// certificates without a keyid, sharing one with another, or with a key
// the kernel cannot verify with, and (with `check`) ones the kernels that
// may boot refuse, are left out, each with a line in `problems`.
Keyring MakeKeyring(const std::string& name, const std::string& role,
                    const std::vector<Ptr<X509>>& certs,
                    const KernelCheck* check,
                    std::vector<std::string>& problems) {
  Keyring ring{name, role, {}};
  std::vector<std::pair<uint32_t, const X509*>> seen;
  for (const Ptr<X509>& cert : certs) {
    Result<uint32_t> keyid = KeyIdFromCertificate(cert.get());
    if (!keyid.has_value()) {
      problems.push_back("certificate \"" + SubjectLine(cert.get()) +
                         "\" for " + name + ": " + keyid.error().message);
      continue;
    }
    const std::string who = "certificate " + KeyIdHex(*keyid) + " (" +
                            SubjectLine(cert.get()) + ")";
    if (check != nullptr) {
      if (std::optional<KeyringRefusal> refusal =
              FindKeyringRefusal(cert.get(), check->cas, check->target)) {
        problems.push_back(RefusalLine(who, name, *refusal));
        continue;
      }
    }
    const bool duplicate = KeyIdSeen(seen, *keyid, cert.get(), name, problems);
    seen.emplace_back(*keyid, cert.get());
    if (duplicate) {
      continue;
    }
    Keyring::Key key{*keyid, CertificateDerOf(cert.get()), {}};
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
    ring.keys.push_back(std::move(key));
  }
  return ring;
}

// Which kernel boots after an update: the kernels the bundle ships when it
// declares them (FORMAT.md §3.3.3: every kernel a bootloader could start is
// declared and carries every CA, which the streaming check confirms in their
// bytes), else the device's own kernel, which keeps booting.
struct BootedKernel {
  bool shipped = false;  // the bundle ships the kernels that boot
  // How that kernel computes EVM digests: the bundle's profile for a
  // shipped kernel, else the device's.
  KernelProfile profile;
  // The newest kernel that may boot, whose (strictest) keyring rules hold,
  // and every version that may boot.
  KernelVersion newest;
  std::set<KernelVersion> may_boot;
  std::vector<Ptr<X509>> cas;  // built into it
};

// The kernel that boots after `header`'s update on `device`. A shipped
// kernel with no declared CA, or a bundle CA that does not parse, is a
// line in `problems`.
BootedKernel KernelAfterReboot(const ManifestHeader& header,
                               const DeviceTrust& device,
                               std::vector<std::string>& problems) {
  BootedKernel kernel;
  kernel.shipped = header.keys.has_value() && !header.keys->kernels.empty();
  kernel.profile = device.profile;
  kernel.newest = device.kernel_version;
  kernel.may_boot = {device.kernel_version};
  if (!kernel.shipped) {
    kernel.cas = CopyAll(device.kernel_cas);
    return kernel;
  }
  // A shipped kernel boots with the CAs it carries: with none declared
  // they are unknown, and the device's own CAs would be a guess.
  if (header.keys->kernel_cas.empty()) {
    problems.push_back(
        "the image ships a kernel but declares none of the CAs built into "
        "it (no kernel-ca line)");
  }
  // A new kernel computes EVM digests its own way: the bundle's profile.
  if (header.ima.has_value()) {
    kernel.profile = header.ima->profile;
  }
  // Any of them may boot: the strictest (newest) kernel's rules hold.
  kernel.may_boot.clear();
  for (const KernelRecord& k : header.keys->kernels) {
    kernel.may_boot.insert(KernelVersion{k.major, k.minor});
  }
  kernel.newest = *kernel.may_boot.rbegin();
  for (const std::string& der : header.keys->kernel_cas) {
    Result<Ptr<X509>> ca = ParseCertificateDer(der, "bundle kernel CA");
    if (!ca.has_value()) {
      problems.push_back("kernel CA of the bundle does not parse");
      continue;
    }
    kernel.cas.push_back(std::move(*ca));
  }
  return kernel;
}

// The certificates every initramfs the image ships loads into .ima and
// .evm (any of them may be the one that boots), each found among the
// manifest's declared signing certificates by its SHA-256. Needs
// header.keys.
void KeysAfterReboot(const ManifestHeader& header,
                     std::vector<std::string>& problems,
                     std::vector<Ptr<X509>>& next_ima,
                     std::vector<Ptr<X509>>& next_evm) {
  const auto declared_certs = DeclaredCertificates(header);
  auto declared = [&](const Sha256Digest& digest,
                      const std::string& where) -> Ptr<X509> {
    for (const auto& [keyid, cert] : declared_certs) {
      std::optional<Sha256Digest> sha = DerSha256(cert.get());
      if (sha.has_value() && DigestEquals(*sha, digest)) {
        return Ptr<X509>(X509_dup(cert.get()));
      }
    }
    problems.push_back(where + " holds a certificate (sha256 " +
                       HexEncode(digest) + ") the manifest does not declare");
    return nullptr;
  };
  // A key counts only if every initramfs loads it.
  bool first = true;
  for (const InitramfsRecord& record : header.keys->initramfs) {
    const std::string where = "/" + Printable(record.path) + " etc/keys/";
    Ptr<X509> evm = declared(record.evm_cert_sha256, where + "x509_evm.der");
    Ptr<X509> ima;
    if (record.ima_cert_sha256.has_value()) {
      ima = declared(*record.ima_cert_sha256, where + "x509_ima.der");
    }
    auto keep = [&](std::vector<Ptr<X509>>& ring, Ptr<X509> cert) {
      if (first && cert != nullptr) {
        ring.push_back(std::move(cert));
      } else if (!first) {
        std::erase_if(ring, [&](const Ptr<X509>& have) {
          return cert == nullptr || X509_cmp(have.get(), cert.get()) != 0;
        });
      }
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

// The finding as the verdict shows it: critical when the closure holds it,
// with the hooks that refuse it and what the device would suffer there.
TrustFinding Conclude(const CriticalClosure::Outcome& closure,
                      const std::string& init, Pending p) {
  RefusedFile refused;
  refused.path = p.path;
  refused.hooks = p.hooks;
  auto critical = closure.files.find(p.path);
  refused.critical = p.critical || critical != closure.files.end();
  if (critical != closure.files.end()) {
    const CriticalClosure::Critical& c = critical->second;
    refused.use = UseOf(c.role, c.affects, p.why.mode);
    refused.affects = c.affects;
    refused.dependency = c.role != CriticalClosure::Role::kNamed &&
                         c.role != CriticalClosure::Role::kInit;
    refused.affects_init =
        c.role == CriticalClosure::Role::kInit || IsInitPath(c.affects, init);
  } else if ((p.reach & kReachExec) != 0) {
    refused.use = IsSharedObjectName(p.path) ? FileUse::kScriptInterpreter
                                             : FileUse::kProgram;
  } else if ((p.reach & kReachElfInterpreter) != 0) {
    refused.use = FileUse::kElfInterpreter;
  } else {
    refused.use = UseByName(p.path, p.why.mode);
  }
  const std::string effect =
      p.consequence.empty() ? HookConsequence(refused) : p.consequence;
  return TrustFinding{
      p.path,
      refused.critical,
      std::move(p.why.reason),
      p.why.cause,
      (p.audited ? "audit cause " + p.why.cause + "; " : "") + effect,
      HookNames(p.hooks)};
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

struct TrustDecider::Impl {
  Impl(const ManifestHeader& header_in, const DeviceTrust& device_in)
      : header(header_in),
        device(device_in),
        policy(device_in.policy),
        declared(DeclaredCertificates(header_in)),
        closure(device_in.critical, device_in.init) {}

  // The keyrings after reboot (their problems into the verdict) and the
  // running ones, and the policy at the hooks of the kernels that may boot.
  void Setup(const RootfsKeys* rootfs) {
    std::vector<std::string>& problems = verdict.keyring_problems;
    const BootedKernel kernel = KernelAfterReboot(header, device, problems);
    profile = kernel.profile;
    if (kernel.shipped) {
      verdict.kernel_profile = kernel.profile;
      verdict.kernel_version = kernel.newest;
    }
    CheckPolicyForKernels(device, kernel.may_boot, problems);
    // Each kernel that may boot applies the policy at its own hooks: one
    // after 6.1 is enough for MMAP_CHECK_REQPROT's.
    policy.set_mmap_reqprot(kernel.newest > KernelVersion{6, 1});
    // Every kernel that may boot loads the keys: each one's rules hold.
    KernelCheck check{{},
                      KernelTarget::ForVersions(std::vector<KernelVersion>(
                          kernel.may_boot.begin(), kernel.may_boot.end()))};
    for (const Ptr<X509>& ca : kernel.cas) {
      check.cas.push_back(ca.get());
      verdict.kernel_ca_ders.push_back(CertificateDerOf(ca.get()));
    }
    std::vector<Ptr<X509>> ima_certs, evm_certs;
    rootfs_keys_load = CertificatesAfterReboot(header, device, rootfs, verdict,
                                               ima_certs, evm_certs);
    next_ima = MakeKeyring(".ima", "post-update", ima_certs, &check, problems);
    next_evm = MakeKeyring(".evm", "post-update", evm_certs, &check, problems);
    for (auto [ring, ids, ders] :
         {std::tuple{&next_ima, &verdict.ima_keyids, &verdict.ima_cert_ders},
          {&next_evm, &verdict.evm_keyids, &verdict.evm_cert_ders}}) {
      std::optional<std::string> empty =
          ring->keys.empty() ? EmptyKeyringProblem(ring->name, rootfs)
                             : std::nullopt;
      if (empty.has_value()) {
        problems.push_back(*empty);
      }
      for (const Keyring::Key& key : ring->keys) {
        ids->push_back(key.keyid);
        ders->push_back(key.der);
      }
    }
    // The running kernel already holds its keys; they are not re-checked,
    // and what is wrong with them is the device's affair.
    std::vector<std::string> ignored;
    running_ima =
        MakeKeyring(".ima", "running", device.ima_certs, nullptr, ignored);
    running_evm =
        MakeKeyring(".evm", "running", device.evm_certs, nullptr, ignored);
  }

  // security.ima under `ring` (parsed into `parsed`).
  std::optional<Untrusted> CheckIma(const Keyring& ring, const Entry& entry,
                                    bool signature_required,
                                    Result<ImaXattr>& parsed) const {
    const Xattr* ima = FindXattr(entry, kImaXattr);
    if (ima == nullptr) {
      return Untrusted{"no security.ima", signature_required
                                              ? "IMA-signature-required"
                                              : "missing-hash"};
    }
    parsed = ParseImaXattr(ima->value);
    if (!parsed.has_value()) {
      return Untrusted{"security.ima malformed: " + parsed.error().message,
                       "invalid-signature-version"};
    }
    if (parsed->is_signature) {
      // Only SHA-256 is pinned by the manifest; other algorithms are
      // checked against the content while it streams (keyid here,
      // signature there).
      const SignatureV2& sig = parsed->signature;
      std::optional<std::string> why;
      if (sig.algo == HashAlgo::kSha256) {
        why = ring.Check(sig, entry.sha256, "security.ima");
      } else if (ring.Find(sig.keyid) == nullptr) {
        why = ring.NotIn("security.ima", sig.keyid);
      }
      if (why.has_value()) {
        return Untrusted{*why, "invalid-signature"};
      }
      return std::nullopt;
    }
    // A digest is protected by the EVM signature; it must match the
    // content (SHA-256 is the one the manifest pins, the streaming
    // ImaChecker compares the others). Even where a signature is required
    // the kernel takes it when EVM verified a portable signature
    // (xattr_verify: INTEGRITY_PASS_IMMUTABLE), which the EVM check
    // demands of every file.
    if (parsed->kernel_reads_md5) {
      return Untrusted{
          "security.ima is a 0x01 SHA-1 digest ending in four zero bytes, "
          "which the kernel reads as an MD5 digest (ima_get_hash_algo) that "
          "the content does not match",
          "invalid-hash"};
    }
    if (parsed->digest_algo == HashAlgo::kSha256 &&
        (parsed->digest.size() != entry.sha256.size() ||
         CRYPTO_memcmp(parsed->digest.data(), entry.sha256.data(),
                       entry.sha256.size()) != 0)) {
      return Untrusted{"security.ima digest differs from the content",
                       "invalid-hash"};
    }
    return std::nullopt;
  }

  // `digest_needs_signature`: security.ima holds a digest where the policy
  // requires a signature, so only a portable EVM signature makes it pass.
  std::optional<Untrusted> CheckEvm(const Keyring& ring, const Entry& entry,
                                    bool digest_needs_signature) const {
    const Xattr* evm = FindXattr(entry, kEvmXattr);
    if (evm == nullptr) {
      return Untrusted{"no security.evm", "missing-HMAC"};
    }
    Result<SignatureV2> sig =
        ParseSignatureV2(evm->value, XattrType::kEvmPortableDigsig);
    if (!sig.has_value() && digest_needs_signature) {
      return Untrusted{
          "security.ima holds a digest and security.evm is not a portable "
          "signature (" +
              sig.error().message + "); the policy requires a signature",
          "IMA-signature-required"};
    }
    if (!sig.has_value()) {
      return Untrusted{
          "security.evm is not a portable signature: " + sig.error().message,
          "invalid-HMAC"};
    }
    Result<std::vector<uint8_t>> digest =
        EvmPortableDigest(entry, profile, sig->algo);
    if (!digest.has_value()) {
      return Untrusted{"EVM digest: " + digest.error().message, "invalid-HMAC"};
    }
    std::optional<std::string> why = ring.Check(*sig, *digest, "security.evm");
    if (!why.has_value()) {
      return std::nullopt;
    }
    if (ring.Find(sig->keyid) != nullptr) {
      *why +=
          " over the file's metadata (mode, owner or labels changed after "
          "signing)";
    }
    return Untrusted{*why, "invalid-fail-immutable"};
  }

  // The first reason `entry` fails the keyrings (post-update, and the
  // running one in place), or nullopt.
  std::optional<Untrusted> CheckKeys(const Entry& entry,
                                     bool signature_required) const {
    auto under = [&](const Keyring& ima, const Keyring& evm) {
      Result<ImaXattr> parsed = MakeError(ErrorCode::kInternal, "not read");
      std::optional<Untrusted> why =
          CheckIma(ima, entry, signature_required, parsed);
      return why ? why
                 : CheckEvm(evm, entry,
                            signature_required && !parsed->is_signature);
    };
    std::optional<Untrusted> failure = under(next_ima, next_evm);
    if (!failure.has_value() && device.in_place) {
      failure = under(running_ima, running_evm);
      if (failure.has_value()) {
        failure->reason =
            "replaced in place before reboot, but " + failure->reason;
      }
    }
    if (failure.has_value()) {
      failure->mode = entry.mode;
    }
    return failure;
  }

  // Why and where the kernel would refuse `entry` under `appraisal`, given
  // the outcome of CheckKeys(). Verity first (a flag the inode carries into
  // every appraisal), then the signature, then appraise_algos, which
  // process_measurement() checks only after the appraisal passed, at each
  // hook with its own list.
  std::optional<Refusal> Judge(const Entry& entry, const Appraisal& appraisal,
                               const std::optional<Untrusted>& keys) const {
    if (!appraisal.appraised) {
      return std::nullopt;
    }
    std::optional<PolicyFailure> unmet = UnmetPolicyDemand(entry, appraisal);
    if (keys.has_value() &&
        !(unmet.has_value() && unmet->cause == "no-verity-digest")) {
      return Refusal{*keys, Accesses(appraisal)};
    }
    if (unmet.has_value()) {
      return Refusal{Untrusted{std::move(unmet->reason),
                               std::move(unmet->cause), entry.mode},
                     std::move(unmet->hooks)};
    }
    return std::nullopt;
  }

  // A file with an execute bit that is not a program by name (ld.so is
  // one) is opened with open_exec() only when a program names it as its
  // interpreter, which its content shows later: what that would add is
  // kept.
  void RememberAsInterpreter(const Entry& entry, const Appraisal& own,
                             const std::optional<Untrusted>& keys) {
    if ((entry.mode & 0111) == 0 || (ReachOf(entry) & kReachExec) != 0) {
      return;
    }
    AsInterpreter as;
    for (auto [reach, hooks] :
         {std::pair{kReachElfInterpreter, &as.elf}, {kReachExec, &as.script}}) {
      Appraisal role = policy.Evaluate(entry, reach);
      role.verity_required = role.verity_required || own.verity_required;
      role.verity_rule =
          own.verity_required ? own.verity_rule : role.verity_rule;
      const bool newly_appraised = !own.appraised && role.appraised;
      const std::optional<Untrusted> role_keys =
          newly_appraised ? CheckKeys(entry, role.signature_required) : keys;
      if (std::optional<Refusal> failure = Judge(entry, role, role_keys)) {
        *hooks = std::move(failure->hooks);
        as.failure = std::move(failure->why);
      } else if (newly_appraised) {
        *hooks = Accesses(role);  // a content failure may show
      }
    }
    if (!as.elf.empty() || !as.script.empty()) {
      as_interpreter[entry.path] = std::move(as);
    }
  }

  // True when the ring holds no key with `keyid` (the manifest pass named
  // the file) or the key of the certificate the manifest declares for it:
  // the streaming ImaChecker, which the bundle must pass, then verifies
  // every signature by that keyid under the ring's own key.
  bool DeclaredKeyIs(const Keyring& ring, uint32_t keyid) {
    auto [cached, fresh] = same_key.try_emplace({&ring, keyid}, false);
    if (!fresh) {
      return cached->second;
    }
    const Keyring::Key* held = ring.Find(keyid);
    bool same = held == nullptr;
    if (held != nullptr) {
      Result<Ptr<X509>> mine =
          ParseCertificateDer(held->der, "device keyring certificate");
      for (const auto& [id, cert] : declared) {
        if (id == keyid && mine.has_value()) {
          same = EVP_PKEY_eq(X509_get0_pubkey(cert.get()),
                             X509_get0_pubkey(mine->get())) == 1;
        }
      }
    }
    cached->second = same;
    return same;
  }

  std::optional<HashAlgo> ContentDigestAlgo(const Entry& entry) {
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
    if (DeclaredKeyIs(next_ima, keyid) &&
        (!device.in_place || DeclaredKeyIs(running_ima, keyid))) {
      return std::nullopt;
    }
    return parsed->signature.algo;
  }

  void ConsiderContent(const Entry& entry, std::span<const uint8_t> digest) {
    if (!ContentDigestAlgo(entry).has_value()) {
      return;
    }
    const SignatureV2 sig =
        ParseImaXattr(FindXattr(entry, kImaXattr)->value)->signature;
    // A keyid the ring lacks was named from the manifest already; here the
    // key that has it must also be the key that signed.
    auto verifies = [&](const Keyring& ring, const std::string& prefix) {
      std::optional<std::string> why;
      if (ring.Find(sig.keyid) != nullptr) {
        why = ring.Check(sig, digest, "security.ima");
      }
      if (why.has_value()) {
        content_failures[entry.path] = Untrusted{
            prefix + *why + " over the content's " +
                std::string(HashAlgoName(sig.algo)) + " digest under the " +
                ring.role + " " + ring.name +
                " key with that keyid (another key with the same keyid "
                "signed it)",
            "invalid-signature", entry.mode};
      }
      return !why.has_value();
    };
    if (verifies(next_ima, "") && device.in_place) {
      verifies(running_ima, "replaced in place before reboot, but ");
    }
  }

  void ConsiderProgram(const std::string& path, ProgramDeps deps) {
    if (!deps.interpreter.empty() && programs.count(path) != 0) {
      interpreters.emplace(deps.interpreter, deps.script);
    }
    closure.AddProgramDeps(path, std::move(deps));
  }

  // Without an initramfs the kernel loads these from the root file system
  // (init/main.c: integrity_load_keys() after prepare_namespace()).
  void CheckRootfsKeyFiles(std::vector<std::string>& problems) const {
    if (!rootfs_keys_load) {
      return;
    }
    for (const auto& [key_file, ring] : {std::pair{kImaKeyFile, &next_ima},
                                         std::pair{kEvmKeyFile, &next_evm}}) {
      const std::string where = "the image's /" + std::string(key_file);
      const CriticalClosure::Walked walked = closure.Walk(key_file);
      auto digest = file_sha256.find(walked.path);
      if (!walked.error.empty() || walked.is_dir ||
          digest == file_sha256.end()) {
        if (rootfs_key_entries.count(key_file) != 0) {
          problems.push_back(
              where + " leads to no regular file (" +
              (walked.error.empty() ? "a folder" : walked.error) +
              "); a device booting without an initramfs would "
              "load no certificate from it");
        }
        continue;
      }
      const bool held = std::any_of(
          ring->keys.begin(), ring->keys.end(), [&](const Keyring::Key& key) {
            Result<Sha256Digest> der = Sha256Of(AsBytes(key.der));
            return der.has_value() && DigestEquals(*der, digest->second);
          });
      if (!held) {
        problems.push_back(where + " (sha256 " + HexEncode(digest->second) +
                           ") is not the certificate the device will load "
                           "into " +
                           ring->name + " " + ring->Describe() +
                           "; a device booting without an initramfs would "
                           "load it");
      }
    }
  }

  // Interpreters the programs' content names: the accesses open_exec()
  // (and for "#!" ones execve) add, where they make the kernel refuse the
  // file.
  void AddInterpreterFindings(FindingList& findings) const {
    for (const auto& [interpreter, script] : interpreters) {
      const CriticalClosure::Walked walked = closure.Walk(interpreter);
      auto as = as_interpreter.find(walked.path);
      if (!walked.error.empty() || as == as_interpreter.end()) {
        continue;
      }
      const std::vector<HookAccess>& hooks =
          script ? as->second.script : as->second.elf;
      const unsigned reach = script ? kReachExec : kReachElfInterpreter;
      if (Pending* listed = findings.Find(walked.path)) {
        for (const HookAccess& access : hooks) {
          if (std::find(listed->hooks.begin(), listed->hooks.end(), access) ==
              listed->hooks.end()) {
            listed->hooks.push_back(access);
          }
        }
        listed->reach |= reach;
        continue;
      }
      std::optional<Untrusted> why = as->second.failure;
      auto content = content_failures.find(walked.path);
      if (!why.has_value() && content != content_failures.end()) {
        why = content->second;
      }
      if (why.has_value() && !hooks.empty()) {
        findings.Add({walked.path, false, *why, kReachOpen | reach, hooks});
      }
    }
  }

  // The critical files the closure could not trust: device.conf's own
  // `critical =` patterns that name files no hook appraises and that would
  // not verify, and the programs' missing or untrusted needs.
  void AddClosureFindings(const CriticalClosure::Outcome& outcome,
                          bool after_stream, FindingList& findings) const {
    std::map<std::string, std::pair<Untrusted, std::string>> own;
    for (const auto& [named, file] : outcome.named) {
      auto it = untrusted.find(file);
      auto content = content_failures.find(file);
      const Untrusted* why = it != untrusted.end() ? &it->second
                             : after_stream && content != content_failures.end()
                                 ? &content->second
                                 : nullptr;
      for (const std::string& pattern : device.owner_critical) {
        if (why != nullptr && GlobMatch(pattern, named)) {
          own.emplace(file, std::make_pair(*why, pattern));
        }
      }
    }
    for (const auto& [path, failure] : own) {
      findings.Add({path,
                    true,
                    failure.first,
                    kReachOpen,
                    {},
                    "the IMA policy appraises it at no hook, so the kernel "
                    "would not refuse it; device.conf's `critical = " +
                        failure.second + "` requires it to verify",
                    false});
    }
    for (const ClosureProblem& problem : outcome.problems) {
      // No audit record: the exec fails before IMA is asked.
      const std::string& affects =
          problem.affects.empty() ? problem.path : problem.affects;
      findings.Add(
          {problem.path,
           true,
           Untrusted{problem.reason, problem.cause, 0755},
           kReachOpen,
           {},
           problem.consequence.empty()
               ? MissingConsequence(affects, IsInitPath(affects, device.init))
               : problem.consequence,
           false});
    }
  }

  // The findings so far plus what the closure and the programs'
  // interpreters add; with `after_stream`, also what the content showed.
  TrustVerdict Verdict(bool after_stream) const {
    TrustVerdict out = verdict;
    CheckRootfsKeyFiles(out.keyring_problems);
    const CriticalClosure::Outcome outcome = closure.Resolve(after_stream);
    FindingList findings(manifest_findings);
    if (after_stream) {
      for (const auto& [path, why] : content_failures) {
        auto appraised = content_checked.find(path);
        if (appraised != content_checked.end()) {
          findings.Add({path, false, why, kReachOpen, appraised->second});
        }
      }
      AddInterpreterFindings(findings);
    }
    AddClosureFindings(outcome, after_stream, findings);
    out.critical_files =
        std::max<uint64_t>(out.critical_files, outcome.files.size());
    for (Pending& finding : findings.all) {
      out.files.push_back(Conclude(outcome, device.init, std::move(finding)));
    }
    std::stable_partition(out.files.begin(), out.files.end(),
                          [](const TrustFinding& f) { return f.critical; });
    return out;
  }

  void Consider(const Entry& entry) {
    closure.Add(entry);
    if (rootfs_keys_load) {
      if (entry.type == EntryType::kFile) {
        file_sha256[entry.path] = entry.sha256;
      }
      if (entry.path == kImaKeyFile || entry.path == kEvmKeyFile) {
        rootfs_key_entries.insert(entry.path);
      }
    }
    if (entry.type != EntryType::kFile) {
      return;
    }
    const unsigned reach = ReachOf(entry);
    if ((reach & kReachExec) != 0) {
      programs.insert(entry.path);
    }
    const Appraisal appraisal = policy.Evaluate(entry, reach);
    // Unappraised, it must verify only for an owner's critical pattern.
    const std::optional<Untrusted> keys = CheckKeys(
        entry, appraisal.appraised ? appraisal.signature_required : true);
    RememberAsInterpreter(entry, appraisal, keys);
    if (!appraisal.appraised) {
      if (keys.has_value()) {
        untrusted[entry.path] = *keys;
      }
      return;
    }
    ++verdict.appraised_files;
    const bool critical = std::any_of(
        device.critical.begin(), device.critical.end(),
        [&](const std::string& p) { return GlobMatch(p, entry.path); });
    verdict.critical_files += critical ? 1 : 0;
    if (ContentDigestAlgo(entry).has_value()) {
      content_checked[entry.path] = Accesses(appraisal);
    }
    if (std::optional<Refusal> failure = Judge(entry, appraisal, keys)) {
      manifest_findings.push_back({entry.path, critical,
                                   std::move(failure->why), reach,
                                   std::move(failure->hooks)});
    }
  }

  const ManifestHeader& header;
  const DeviceTrust& device;
  // The device's policy at the hooks of the kernels that may boot.
  ImaPolicy policy;
  KernelProfile profile;
  // The manifest's signing certificates, by declared keyid.
  const std::vector<std::pair<uint32_t, Ptr<X509>>> declared;
  Keyring next_ima, next_evm, running_ima, running_evm;
  TrustVerdict verdict;  // its `files` stay empty: see manifest_findings
  std::vector<Pending> manifest_findings;
  // Hardlinks, symlinks, init and program dependencies of critical files.
  CriticalClosure closure;
  // Files no hook appraises that would fail if they had to verify (an
  // owner's critical pattern may name them through a link), by path.
  std::map<std::string, Untrusted> untrusted;
  // Programs (kReachExec), and the interpreters their content names
  // ("#!" ones flagged): the kernel opens those with open_exec().
  std::set<std::string> programs;
  std::set<std::pair<std::string, bool>> interpreters;
  std::map<std::string, AsInterpreter> as_interpreter;
  // Appraised files whose IMA signature the stream must verify (with the
  // accesses that appraise them), and the ones that failed there.
  std::map<std::string, std::vector<HookAccess>> content_checked;
  std::map<std::string, Untrusted> content_failures;
  // No initramfs declared, on a device that may boot without one although
  // it does not say so (device.conf `initramfs = image`): the kernel then
  // loads the image's etc/keys files, which must be certificates of the
  // predicted keyrings.
  bool rootfs_keys_load = false;
  std::map<std::string, Sha256Digest> file_sha256;
  std::set<std::string> rootfs_key_entries;
  // DeclaredKeyIs() per keyring and keyid.
  std::map<std::pair<const Keyring*, uint32_t>, bool> same_key;
};

Result<std::unique_ptr<TrustDecider>> TrustDecider::Create(
    const ManifestHeader& header, const DeviceTrust& device,
    const RootfsKeys* rootfs) {
  if (device.boots_without_initramfs != (rootfs != nullptr)) {
    return MakeError(ErrorCode::kInternal,
                     "the image's /etc/keys are given exactly for a device "
                     "that boots without an initramfs");
  }
  auto impl = std::make_unique<Impl>(header, device);
  impl->Setup(rootfs);
  return std::unique_ptr<TrustDecider>(new TrustDecider(std::move(impl)));
}

TrustDecider::TrustDecider(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
TrustDecider::~TrustDecider() = default;

void TrustDecider::Consider(const Entry& entry) { impl_->Consider(entry); }
TrustVerdict TrustDecider::Finish() { return impl_->Verdict(false); }
std::optional<HashAlgo> TrustDecider::ContentDigestAlgo(const Entry& entry) {
  return impl_->ContentDigestAlgo(entry);
}
void TrustDecider::ConsiderContent(const Entry& entry,
                                   std::span<const uint8_t> digest) {
  impl_->ConsiderContent(entry, digest);
}
void TrustDecider::ConsiderProgram(const std::string& path, ProgramDeps deps) {
  impl_->ConsiderProgram(path, std::move(deps));
}
TrustVerdict TrustDecider::FinishContent() const {
  return impl_->Verdict(true);
}

}  // namespace imab::verifier
