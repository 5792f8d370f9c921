// EntrySink: where checked entries go (nothing, a folder, a slot). The
// verifier calls it while streaming, so a sink must be able to throw away
// everything it wrote when a later check fails.
#pragma once

#include <cstdint>
#include <span>

#include "common/read/entry.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab::verifier {

class EntrySink {
 public:
  virtual ~EntrySink() = default;

  // Called once, after the signature was verified and the manifest header
  // parsed, before any entry.
  virtual Status Start(const ManifestHeader& header) = 0;
  // Called once per entry after its header matched its manifest record,
  // before any content. For kHardlink, mode/uid/gid are the target's.
  virtual Status Begin(const Entry& entry) = 0;
  // Content of the current kFile entry, in order, not yet known to be good.
  virtual Status Content(std::span<const uint8_t> data) = 0;
  // The current entry's content matched its digest.
  virtual Status End(const Entry& entry) = 0;
  // Every check of the bundle passed: make the result visible.
  virtual Status Commit() = 0;
  // A check failed or the run stopped: remove everything written.
  virtual void Abort() = 0;
};

// Accepts and forgets everything (`imab-verify verify`).
class NullSink : public EntrySink {
 public:
  Status Start(const ManifestHeader&) override { return OkStatus(); }
  Status Begin(const Entry&) override { return OkStatus(); }
  Status Content(std::span<const uint8_t>) override { return OkStatus(); }
  Status End(const Entry&) override { return OkStatus(); }
  Status Commit() override { return OkStatus(); }
  void Abort() override {}
};

}  // namespace imab::verifier
