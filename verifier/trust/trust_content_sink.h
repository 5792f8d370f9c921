// TrustContentSink: passes every streamed entry on to the real sink and
// shows its content to the trust decision, which can only finish once it
// has seen it: the digests of IMA signatures the manifest does not pin
// (SHA-384/512), and the interpreters and libraries each program loads.
#pragma once

#include <optional>

#include "common/read/handles.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/trust/elf_deps.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {

class TrustContentSink : public EntrySink {
 public:
  // Both borrowed; with a null `decider` a plain pass-through.
  TrustContentSink(EntrySink& inner, TrustDecider* decider)
      : inner_(inner), decider_(decider) {}

  Status Start(const ManifestHeader& header) override {
    return inner_.Start(header);
  }
  Status Begin(const Entry& entry) override;
  Status Content(std::span<const uint8_t> data) override;
  Status End(const Entry& entry) override;
  Status Commit() override { return inner_.Commit(); }
  void Abort() override { inner_.Abort(); }

 private:
  EntrySink& inner_;
  TrustDecider* decider_;
  bool watching_ = false;  // the current entry is a regular file
  ElfDepsScanner scanner_;
  Ptr<EVP_MD_CTX> hash_;  // only when its IMA signature needs a digest
};

}  // namespace imab::verifier
