// SigningPipeline: re-signs every selected file with fresh security.ima and
// security.evm values on all cores while the payload keeps streaming, and
// hands entries to the writer in their original order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/digest_signer.h"
#include "builder/rootfs_source.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/kernel_profile.h"
#include "common/read/result.h"

namespace imab::builder {

struct SigningConfig {
  const DigestSigner* ima_signer = nullptr;  // borrowed, non-null
  const DigestSigner* evm_signer = nullptr;  // borrowed, non-null
  HashAlgo algo = HashAlgo::kSha256;
  KernelProfile profile;
  std::vector<std::string> exclude;  // GlobMatch patterns: left unsigned
  int threads = 1;                   // signing workers
  std::string scratch_folder;        // where large contents are spooled
  // Initramfs images whose etc/keys certificates are replaced before they
  // are signed: these paths, or (when empty and detect_initramfs) every
  // regular file a bootloader could load as an initramfs (common/boot_files).
  std::vector<std::string> initramfs_paths;
  bool detect_initramfs = false;
  std::string evm_cert_der;                 // for etc/keys/x509_evm.der
  std::optional<std::string> ima_cert_der;  // for x509_ima.der, if distinct
};

// An entry ready to be written: final metadata and xattrs, content digest,
// and its content held in memory or in a spooled scratch file.
struct PreparedEntry {
  Entry entry;                 // sha256 and size set for files
  std::string inline_content;  // files up to kInlineContentBytes
  UniqueFd spool;              // larger files, read back from offset 0
  bool signed_now = false;
  std::vector<uint8_t> content_digest;  // in SigningConfig::algo
};

// An initramfs the pipeline rewrote, and the certificates it now carries.
struct InitramfsRewrite {
  std::string path;
  Sha256Digest evm_cert_sha256{};
  std::optional<Sha256Digest> ima_cert_sha256;
};

struct SigningStats {
  std::vector<InitramfsRewrite> initramfs;  // in image order
  uint64_t signed_files = 0;
  uint64_t excluded_files = 0;
  // keyid of the replaced security.ima signature -> files ("none" for
  // files that had no signature, "digest" for a digest form).
  std::map<std::string, uint64_t> replaced;
};

class SigningPipeline {
 public:
  static constexpr uint64_t kInlineContentBytes = 4u << 20;
  static constexpr uint64_t kWindowBytes = 128u << 20;
  static constexpr size_t kWindowEntries = 1024;

  // `write` is called on one writer thread, once per entry, in submission
  // order; an error from it stops the pipeline.
  using WriteFn = std::function<Status(PreparedEntry&)>;

  SigningPipeline(const SigningConfig& config, WriteFn write);
  ~SigningPipeline();

  // Reads the entry's content (hashing it), strips any security.ima /
  // security.evm it carries, and queues it; blocks while the window is full.
  // Returns the first error of any stage.
  Status Submit(SourceEntry& source_entry);
  // Waits until every submitted entry was written.
  Status Finish();

  const SigningStats& stats() const { return stats_; }

 private:
  struct Shared;
  std::unique_ptr<Shared> shared_;
  SigningStats stats_;
};

}  // namespace imab::builder
