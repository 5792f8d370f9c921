// IntegrityPool: runs the IMA/EVM signature checks of streamed entries on
// worker threads, so signature verification does not serialise behind
// decompression and hashing (the two other stages of the verifier).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/read/entry.h"
#include "common/read/integrity_check.h"

namespace imab::verifier {

class IntegrityPool {
 public:
  // `checker` is borrowed and must outlive the pool. `threads` >= 1.
  // At most kQueueEntries entries wait at once (bounded memory).
  static constexpr size_t kQueueEntries = 256;
  IntegrityPool(const ImaChecker& checker, int threads);
  ~IntegrityPool();

  // Checks `entry` whose content digest (in checker.ContentDigestAlgo) is
  // `digest`. Entries without security.ima/security.evm are checked at
  // once on the caller's thread; the others are queued (blocking while the
  // queue is full).
  void Submit(Entry entry, std::vector<uint8_t> digest);

  // Waits for every queued check and returns all failures, in entry order.
  std::vector<IntegrityFailure> Finish();

 private:
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

}  // namespace imab::verifier
