#include "verifier/bundle/initramfs_check.h"

#include <algorithm>

#include "common/read/digest.h"
#include "common/read/hex.h"
#include "common/read/initramfs.h"
#include "common/read/limits.h"
#include "common/read/printable.h"

namespace imab::verifier {
namespace {

Error Mismatch(const std::string& path, const std::string& what) {
  return MakeError(ErrorCode::kBadSignature,
                   "initramfs " + Printable(path) + ": " + what);
}

Status CompareCert(const std::string& path, const char* name,
                   const std::optional<std::vector<uint8_t>>& actual,
                   const std::optional<Sha256Digest>& declared) {
  if (!declared.has_value()) {
    // The manifest records every key file the initramfs holds, so the
    // trust decision knows exactly what each keyring will load.
    if (actual.has_value()) {
      return Mismatch(path, std::string("etc/keys/") + name +
                                " is present but the manifest declares none");
    }
    return OkStatus();
  }
  if (!actual.has_value()) {
    return Mismatch(path, std::string("etc/keys/") + name +
                              " is missing; the kernel would load no key");
  }
  IMAB_ASSIGN_OR_RETURN(Sha256Digest digest, Sha256Of(*actual));
  if (!DigestEquals(digest, *declared)) {
    return Mismatch(path, std::string("etc/keys/") + name + " (SHA-256 " +
                              HexEncode(digest).substr(0, 16) +
                              "...) is not the certificate the manifest "
                              "declares");
  }
  return OkStatus();
}

}  // namespace

const InitramfsRecord* InitramfsCheck::Find(const std::string& path) const {
  if (!keys_.has_value()) {
    return nullptr;
  }
  for (const InitramfsRecord& r : keys_->initramfs) {
    if (r.path == path) {
      return &r;
    }
  }
  return nullptr;
}

Status InitramfsCheck::Begin(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(boot_files_.Begin(entry));
  current_ = Find(entry.path);
  image_.clear();
  if (current_ == nullptr) {
    return OkStatus();
  }
  if (entry.type != EntryType::kFile) {
    return MakeError(
        ErrorCode::kMalformed,
        "initramfs " + Printable(entry.path) + " is not a regular file");
  }
  // Held whole while it streams; bounded so a bundle cannot make the
  // verifier allocate without limit.
  if (entry.size > kMaxInitramfsBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "initramfs " + Printable(entry.path) + " larger than " +
                         std::to_string(kMaxInitramfsBytes) + " bytes");
  }
  image_.reserve(static_cast<size_t>(entry.size));
  return OkStatus();
}

void InitramfsCheck::Feed(std::span<const uint8_t> data) {
  boot_files_.Feed(data);
  if (current_ != nullptr) {
    image_.insert(image_.end(), data.begin(), data.end());
  }
}

Status InitramfsCheck::End(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(boot_files_.End(entry));
  if (current_ == nullptr) {
    return OkStatus();
  }
  const InitramfsRecord& record = *current_;
  current_ = nullptr;
  Result<InitramfsKeys> keys = ReadInitramfsKeys(image_);
  image_.clear();
  image_.shrink_to_fit();
  if (!keys.has_value()) {
    return WithContext(keys.error(), "initramfs " + Printable(entry.path));
  }
  IMAB_RETURN_IF_ERROR(CompareCert(entry.path, "x509_evm.der", keys->evm_der,
                                   record.evm_cert_sha256));
  IMAB_RETURN_IF_ERROR(CompareCert(entry.path, "x509_ima.der", keys->ima_der,
                                   record.ima_cert_sha256));
  seen_.push_back(entry.path);
  return OkStatus();
}

Status InitramfsCheck::Finish() const {
  IMAB_RETURN_IF_ERROR(boot_files_.Finish());
  if (!keys_.has_value()) {
    return OkStatus();
  }
  for (const InitramfsRecord& r : keys_->initramfs) {
    if (std::find(seen_.begin(), seen_.end(), r.path) == seen_.end()) {
      return MakeError(ErrorCode::kMalformed,
                       "initramfs " + Printable(r.path) +
                           " is declared by the manifest but not in the "
                           "payload");
    }
  }
  return OkStatus();
}

}  // namespace imab::verifier
