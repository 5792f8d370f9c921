// BuildBundle: turns a rootfs into a signed bundle (FORMAT.md), streaming
// every file once through hashing and compression.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/ca_store_stage.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab::builder {

struct BuildOptions {
  std::string rootfs;         // folder or tarball
  std::string image_version;  // VERSION, FORMAT.md §3.1
  std::string compatible;     // NAME
  std::string signing_key;    // PEM private key or pkcs11: URI
  std::string signing_cert;   // PEM or DER certificate
  std::string chain;          // PEM intermediates, may be empty
  std::string output;         // the .imab to write
  uint64_t created = 0;       // manifest `created` (SOURCE_DATE_EPOCH)
  int zstd_level = 3;         // 1..19
  int workers = 0;            // zstd worker threads; 0 = none

  // IMA/EVM. With ima_key every regular file not matched by ima_exclude
  // gets fresh signatures; with keep_signatures the input's are kept and
  // checked against ima_certs; with neither, an input that carries
  // security.ima or security.evm is refused.
  std::string ima_key;                   // signs security.ima (and evm)
  std::vector<std::string> ima_certs;    // ima_key's cert, or kept ones'
  std::string evm_key;                   // defaults to ima_key
  std::string evm_cert;                  // defaults to ima_certs[0]
  std::string hash = "sha256";           // sha256 | sha384 | sha512
  std::string kernel_profile = "le64";   // KernelProfile name
  std::vector<std::string> ima_exclude;  // GlobMatch patterns
  bool keep_signatures = false;
  bool allow_unverified = false;  // with keep_signatures: build anyway
  int signing_threads = 1;

  // Keys that example layers publish (manifests/known-dev-keys.tsv, built
  // in, plus the list in dev_keys_list) are refused unless allow_dev_keys,
  // which marks the bundle `development`.
  bool allow_dev_keys = false;

  // Boot chain keys (with ima_key). Each initramfs (these image paths, or
  // when none are given every initramfs candidate, common/read/boot_files.h)
  // gets this build's signing certificate(s) at etc/keys/x509_evm.der (and
  // x509_ima.der); another candidate stops the build. With kernel_cas, a
  // signing certificate the kernel would refuse stops the build, and so
  // does a kernel of the image not carrying every CA (or a kernel without
  // kernel_cas). key_generation is recorded in the manifest.
  std::vector<std::string> initramfs;
  std::vector<std::string> kernel_cas;  // PEM files of the kernel's CAs
  // MAJOR.MINOR of the device kernel, whose keyring rules the IMA/EVM
  // certificates must meet (common/read/kernel_keyring_rules.h); empty: every
  // studied kernel's. Kernels the image ships add their own rules.
  std::string kernel_version;
  uint64_t key_generation = 0;
  // Manifest expiry: an absolute time, or days after `created`; at most
  // one of them.
  std::optional<uint64_t> expires;
  std::optional<uint64_t> expires_in_days;
  // A signed trust root (FORMAT.md §8) to carry: devices whose current root
  // it succeeds adopt it after installing. The signing certificate must
  // chain to one of its release CAs.
  std::string trust_root;
  // Module for private keys given as "pkcs11:" URIs without module-path.
  std::string pkcs11_module;
  std::string dev_keys_list;  // extra TSV of SPKI SHA-256 fingerprints

  // The image's CA store (etc/ssl/certs), regenerated from the image's own
  // inputs before signing unless ca.keep; ca.now 0 means the current time.
  CaStoreOptions ca;
};

struct BuildSummary {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;  // sum of file sizes
  uint64_t payload_bytes = 0;  // compressed
  uint64_t bundle_bytes = 0;
  uint64_t signed_files = 0;
  uint64_t excluded_files = 0;
  std::map<std::string, uint64_t> replaced_keyids;  // old keyid -> files
  std::vector<std::string> new_keyids;              // hex, IMA then EVM
  bool development = false;            // built with published development keys
  std::vector<std::string> initramfs;  // images given the new certificates
  std::vector<std::string> kernels;  // "PATH (MAJOR.MINOR)", CAs found in them
  std::string ca_store;  // what the CA store stage did, empty when skipped
};

// Builds the bundle. Checks the options and loads the signing identity
// before reading the rootfs. On success `options.output` exists, complete;
// on any failure it is not created (an existing file at that path is left
// untouched) and the error names the input and the rule. Deterministic:
// the same rootfs and options give a byte-identical manifest and payload
// (with ECDSA IMA/EVM keys the signatures themselves are randomised).
Result<BuildSummary> BuildBundle(const BuildOptions& options,
                                 Reporter& reporter);

}  // namespace imab::builder
