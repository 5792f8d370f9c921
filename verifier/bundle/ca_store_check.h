// CaStoreCheck: confirms, in the same streaming pass, that the CA store in
// the bundle's etc/ssl/certs is whole and is exactly what the store rules
// (common/read/ca_store.h) produce from the image's own inputs, and that the
// manifest's section ca-store (FORMAT.md §3.3.6) describes it. TLS clients
// on the device trust these files; a broken store can cut a device off
// from its update server for good.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "common/read/ca_store.h"
#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab::verifier {

class CaStoreCheck {
 public:
  // `section` is borrowed and must outlive the check. Without a section
  // (the builder kept the input's store) every call is a no-op.
  explicit CaStoreCheck(const std::optional<CaStoreSection>& section)
      : section_(section) {}

  // Records `entry` when it is a store input (etc/ca-certificates.conf,
  // anything under usr/share/ca-certificates or
  // usr/local/share/ca-certificates) or directly in etc/ssl/certs, and
  // starts capturing its content when the rules need it. kLimitExceeded
  // past kMaxCaInputEntries / kMaxCaInputBytes; kMalformed for a conf that
  // is not a regular file or a hardlink into the inputs from outside them.
  Status Begin(const Entry& entry);
  // Content of the current entry (ignored when not capturing).
  void Feed(std::span<const uint8_t> data);
  // After the content matched its digest: keeps the captured bytes.
  void End(const Entry& entry);
  // After the last entry: recomputes the store and compares. kMalformed
  // (kDigestMismatch for ca-certificates.crt) with one line naming the
  // first difference: a .pem link that does not resolve to a certificate
  // in the image, a link or hash link missing, extra or pointing
  // elsewhere, a bundle that is not the concatenation the rules produce,
  // a manifest section that does not describe the store.
  Status Finish() const;

 private:
  Status CaptureInput(const Entry& entry);
  struct Child {
    EntryType type = EntryType::kFile;
    std::string target;     // symlinks
    Sha256Digest sha256{};  // files
  };

  Status CheckLinksResolve(const CaInputs& inputs) const;
  Status CheckAgainst(const CaStore& expected) const;
  Status CheckSection(const CaStore& expected) const;

  const std::optional<CaStoreSection>& section_;
  CaInputs inputs_;
  std::map<std::string, Child> certs_;  // entries of etc/ssl/certs by name
  std::string* capture_ = nullptr;      // where content goes, if anywhere
  size_t entries_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace imab::verifier
