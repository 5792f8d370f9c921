// The post-update trust decision (issue: "the heart of the product"): from
// the verified manifest and the device's state, predict which keys the
// kernel will load after reboot and whether every file it appraises, at
// each hook where it appraises it, will verify under them; refuse the whole
// update otherwise, naming each file, critical ones first, with the hooks
// that refuse it and the failure the device would hit there
// (ima-evm-formats.md §5, §7).
//
// A pure computation: no I/O. The caller feeds the manifest's entries one at
// a time (the manifest may be larger than memory), so the decision is made
// before any payload byte is written.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/read/digest.h"
#include "common/read/digest_signature.h"
#include "common/read/entry.h"
#include "common/read/handles.h"
#include "common/read/ima_xattr.h"
#include "common/read/kernel_keyring.h"
#include "common/read/kernel_profile.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/trust/critical_closure.h"
#include "verifier/trust/hook_consequence.h"
#include "verifier/trust/ima_policy.h"
#include "verifier/trust/rootfs_keys.h"

namespace imab::verifier {

// The device side, with its certificates parsed (the main reads them
// through verifier/load/material_loader.h; tests build it in memory).
struct DeviceTrust {
  std::vector<Ptr<X509>> kernel_cas;  // built into the running kernel
  std::vector<Ptr<X509>> ima_certs;   // loaded now into .ima
  std::vector<Ptr<X509>> evm_certs;   // loaded now into .evm
  KernelProfile profile;
  KernelVersion kernel_version;
  ImaPolicy policy = ImaPolicy::AppraiseTcb();
  // The policy file as read ("" for the built-in one), where it came from
  // and how it was parsed: each kernel that may boot after the update
  // parses it again with its own grammar.
  std::string policy_text;
  std::string policy_where;
  PolicyContext policy_context;
  std::vector<std::string> critical = DefaultCriticalFiles();
  // device.conf's own `critical` patterns (DeviceConfig::owner_critical):
  // what they name must verify even where no hook appraises it.
  std::vector<std::string> owner_critical;
  // The init the device boots (device.conf `init`), or "" for the kernel's
  // search (KernelInitSearch()).
  std::string init;
  // No A/B: files are replaced one by one under the running kernel
  // (device.conf layout in-place, or a run judged as in-place).
  bool in_place = false;
  // device.conf `initramfs = none`: the kernel loads .ima and .evm from
  // the image's own /etc/keys (rootfs_keys.h), never from an initramfs.
  bool boots_without_initramfs = false;
};

// One file the device could not trust after the update.
struct TrustFinding {
  std::string path;  // "/usr/lib/libc.so.6"
  bool critical = false;
  std::string reason;  // "signed by keyid 1a2b3c4d, not in the ..."
  // The kernel's audit cause, "invalid-signature"; for a critical path
  // that leads nowhere (no audit record) a tag: "missing-file", "no-init".
  std::string cause;
  // What the device would hit: the audit cause, the hooks that refuse it
  // and the visible failure at each.
  std::string consequence;
  // The hooks at which the kernel would refuse it ("MMAP_CHECK", ...);
  // empty where no hook would (a critical path that leads nowhere, a
  // file only device.conf's own `critical` demands).
  std::vector<std::string> hooks;
};

struct TrustVerdict {
  // Certificates the kernel would refuse, an empty keyring, duplicate
  // keyids: each one line.
  std::vector<std::string> keyring_problems;
  std::vector<TrustFinding> files;  // critical first, then manifest order
  // What the decision assumed that the reader should know, though it
  // refuses nothing ("the bundle's initramfs ... is not loaded").
  std::vector<std::string> notes;
  std::vector<uint32_t> ima_keyids;  // post-update .ima keyring
  std::vector<uint32_t> evm_keyids;  // post-update .evm keyring
  // The same keyrings and the kernel CAs as certificate DERs, for the
  // device state once the update is installed.
  std::vector<std::string> kernel_ca_ders;
  std::vector<std::string> ima_cert_ders;
  std::vector<std::string> evm_cert_ders;
  // Set when the bundle ships the kernel that boots (its CAs counted): its
  // profile and the newest declared version, for the device state.
  std::optional<KernelProfile> kernel_profile;
  std::optional<KernelVersion> kernel_version;
  uint64_t appraised_files = 0;
  uint64_t critical_files = 0;

  bool accepted() const { return keyring_problems.empty() && files.empty(); }
  // One line: "accepted: N appraised files verify under {...}" or the
  // first problems in order, for the error message.
  std::string Summary() const;
};

class TrustDecider {
 public:
  // Builds the keyrings the device will have after reboot from `header`
  // (kernel CAs and initramfs certificates of the bundle, or the device's
  // when the bundle ships none) and `device`. Both are borrowed and must
  // outlive the decider. A device that boots without an initramfs loads
  // the image's /etc/keys instead: `rootfs`, found in the manifest
  // beforehand (RootfsKeysFinder), is read here only, and is required
  // exactly for such a device. kInternal only for a library failure or a
  // missing `rootfs`; everything the kernel would refuse is a finding, not
  // an error.
  static Result<std::unique_ptr<TrustDecider>> Create(
      const ManifestHeader& header, const DeviceTrust& device,
      const RootfsKeys* rootfs = nullptr);
  ~TrustDecider();

  // Judges one manifest entry (in manifest order).
  void Consider(const Entry& entry);

  // After the last entry: the verdict the manifest alone gives (hardlinks,
  // symlink chains and init resolved), before any payload byte streams.
  TrustVerdict Finish();

  // While the payload streams (after Finish()): the digest of the content
  // a file's IMA signature is over, when the manifest does not pin it (an
  // algorithm other than SHA-256) and the certificate the manifest declares
  // for its keyid (which the streaming ImaChecker verifies it under) holds
  // another key than the device's keyring; nullopt when none is needed.
  std::optional<HashAlgo> ContentDigestAlgo(const Entry& entry);
  // That digest: the signature must verify under the post-update key with
  // its keyid (and the running one, in place), not just any key with it.
  void ConsiderContent(const Entry& entry, std::span<const uint8_t> digest);
  // The interpreter and libraries the file at `path` loads.
  void ConsiderProgram(const std::string& path, ProgramDeps deps);
  // After the stream: Finish() plus what the content showed (the ELF
  // dependencies of critical programs, the non-SHA-256 signatures).
  TrustVerdict FinishContent() const;

 private:
  struct Keyring;
  TrustDecider(const ManifestHeader& header, const DeviceTrust& device);
  // The keyring `name` as the kernel would hold it with `certs` loaded:
  // certificates without a keyid, sharing one with another, or with a key
  // the kernel cannot verify with, and (with `check_with_kernel`) ones a
  // kernel of `target` refuses under `kernel_cas`, are left out, each
  // with a line in `problems`.
  static std::unique_ptr<Keyring> MakeKeyring(
      const std::string& name, const std::vector<Ptr<X509>>& certs,
      bool check_with_kernel, const std::vector<X509*>& kernel_cas,
      const KernelTarget& target, std::vector<std::string>& problems);

  // Why a file would fail appraisal.
  struct Untrusted {
    std::string reason;
    std::string cause;
    uint32_t mode = 0;
  };
  // What being an interpreter adds for a file that is not a program: the
  // accesses at which it then fails as an ELF interpreter (open_exec) and
  // as a script's "#!" interpreter (execve), when the policy appraises it
  // there. `failure` is set when the manifest already shows it failing.
  struct AsInterpreter {
    std::optional<Untrusted> failure;
    std::vector<HookAccess> elf, script;
  };
  // Per finding: what decides its hooks and consequence.
  struct FindingInfo {
    uint32_t mode = 0;
    unsigned reach = kReachOpen;  // Reach bits
    std::vector<HookAccess> hooks;
    std::string consequence;  // "" = HookConsequence()
    bool audited = true;      // the kernel logs an audit cause for it
  };

  void AddFinding(const Entry& entry, bool critical, unsigned reach,
                  Untrusted why, std::vector<HookAccess> hooks);
  // The first reason `entry` fails the keyrings (post-update, and the
  // running one in place), or nullopt.
  std::optional<Untrusted> CheckKeys(const Entry& entry,
                                     bool signature_required) const;
  // Why and where the kernel would refuse `entry` under `appraisal`, given
  // the outcome of CheckKeys().
  std::optional<std::pair<Untrusted, std::vector<HookAccess>>> Judge(
      const Entry& entry, const Appraisal& appraisal,
      const std::optional<Untrusted>& keys) const;
  void RememberAsInterpreter(const Entry& entry, const Appraisal& own,
                             const std::optional<Untrusted>& keys);
  bool DeclaredKeyIs(const Keyring& ring, uint32_t keyid);
  TrustVerdict Verdict(bool after_stream) const;
  // The files device.conf's own critical patterns name that no hook
  // appraises and that would not verify: why, and the pattern.
  std::map<std::string, std::pair<Untrusted, std::string>> OwnCriticalFailures(
      const CriticalClosure::Outcome& closure, bool after_stream) const;
  // After the stream: what the interpreters programs name add.
  void AddInterpreterFindings(const CriticalClosure::Outcome& closure,
                              TrustVerdict& verdict,
                              std::vector<FindingInfo>& info) const;
  void SetConsequences(const CriticalClosure::Outcome& closure,
                       TrustVerdict& verdict,
                       const std::vector<FindingInfo>& info) const;
  // The post-update keyrings' keyids and certificates, into verdict_.
  void RecordNextKeyrings();
  using AddFindingFn = std::function<void(const std::string&, const Untrusted&,
                                          bool, FindingInfo)>;
  void AddClosureFindings(const CriticalClosure::Outcome& closure,
                          bool after_stream, const AddFindingFn& add) const;
  // running_ima_ and running_evm_, from the device's loaded certificates.
  void MakeRunningKeyrings(const std::vector<X509*>& ca_ptrs,
                           const KernelTarget& target);
  void CheckRootfsKeyFiles(std::vector<std::string>& problems) const;
  // The first reason the file would fail under `ring`, or nullopt.
  std::optional<std::pair<std::string, std::string>> CheckUnder(
      const Keyring& ima, const Keyring& evm, const Entry& entry,
      bool signature_required) const;
  // Its two halves: security.ima (parsed into `parsed`) and security.evm.
  std::optional<std::pair<std::string, std::string>> CheckImaUnder(
      const Keyring& ima, const std::string& role, const Entry& entry,
      bool signature_required, Result<ImaXattr>& parsed) const;
  std::optional<std::pair<std::string, std::string>> CheckEvmUnder(
      const Keyring& evm, const std::string& role, const Entry& entry,
      bool digest_needs_signature) const;

  const ManifestHeader& header_;
  const DeviceTrust& device_;
  // The device's policy at the hooks of the kernels that may boot.
  ImaPolicy policy_;
  KernelProfile profile_;
  std::unique_ptr<Keyring> next_ima_, next_evm_, running_ima_, running_evm_;
  TrustVerdict verdict_;
  std::vector<FindingInfo> finding_info_;  // parallel to verdict_.files
  // Hardlinks, symlinks, init and program dependencies of critical files.
  CriticalClosure closure_;
  // Files no hook appraises that would fail if they had to verify (an
  // owner's critical pattern may name them through a link), by path.
  std::map<std::string, Untrusted> untrusted_;
  // Programs (kReachExec), and the interpreters their content names
  // ("#!" ones flagged): the kernel opens those with open_exec().
  std::set<std::string> programs_;
  std::set<std::pair<std::string, bool>> interpreters_;
  std::map<std::string, AsInterpreter> as_interpreter_;
  // Appraised files whose IMA signature the stream must verify (with the
  // accesses that appraise them), and the ones that failed there.
  std::map<std::string, std::vector<HookAccess>> content_checked_;
  std::map<std::string, Untrusted> content_failures_;
  // No initramfs declared, on a device that may boot without one although
  // it does not say so (device.conf `initramfs = image`): the kernel then
  // loads the image's etc/keys files, which must be certificates of the
  // predicted keyrings.
  static constexpr const char* kRootfsKeyFiles[] = {"etc/keys/x509_ima.der",
                                                    "etc/keys/x509_evm.der"};
  bool rootfs_keys_load_ = false;
  std::map<std::string, Sha256Digest> file_sha256_;
  std::set<std::string> rootfs_key_entries_;
  // DeclaredKeyIs() per keyring and keyid.
  std::map<std::pair<const Keyring*, uint32_t>, bool> same_key_;
};

}  // namespace imab::verifier
