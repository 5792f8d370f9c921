// InitramfsCheck: confirms, in the same streaming pass, that each initramfs
// the manifest names carries exactly the certificates it declares at
// etc/keys (FORMAT.md §3.3.3), so the keys the kernel will load after the
// update are the ones the trust decision reasoned about. It also runs the
// boot-files check (boot_files_check.h: every initramfs and kernel a
// bootloader could use is declared, each declared kernel carries the kernel
// CAs), so the payload stream feeds one boot-chain check.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/bundle/boot_files_check.h"

namespace imab::verifier {

class InitramfsCheck {
 public:
  // `header` is borrowed and must outlive the check.
  explicit InitramfsCheck(const ManifestHeader& header)
      : keys_(header.keys), boot_files_(header) {}

  // Starts capturing `entry` when it is a declared initramfs: a kFile, at
  // most kMaxInitramfsBytes (kLimitExceeded otherwise). A declared path of
  // another type is kMalformed.
  Status Begin(const Entry& entry);
  // Content of the current entry (ignored when not capturing).
  void Feed(std::span<const uint8_t> data);
  // After the content matched its digest: parses the captured image and
  // compares SHA-256 of etc/keys/x509_evm.der (and x509_ima.der) with the
  // declaration. kBadSignature naming the path and the certificate.
  Status End(const Entry& entry);
  // After the last entry: every declared initramfs was in the payload.
  Status Finish() const;

 private:
  const InitramfsRecord* Find(const std::string& path) const;

  const std::optional<KeysSection>& keys_;
  BootFilesCheck boot_files_;
  const InitramfsRecord* current_ = nullptr;
  std::vector<uint8_t> image_;
  std::vector<std::string> seen_;
};

}  // namespace imab::verifier
