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
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/read/entry.h"
#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/kernel_profile.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/trust/critical_closure.h"
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
  struct Impl;
  explicit TrustDecider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imab::verifier
