// CheckPayload: walks the manifest records and the decompressed payload in
// lockstep (FORMAT.md §4.2, §6 step 3-4), comparing each header byte for
// byte with the one the record implies and each file's content digest.
#pragma once

#include <cstdint>
#include <vector>

#include "common/read/integrity_check.h"
#include "common/read/manifest_reader.h"
#include "common/read/result.h"
#include "common/read/zstd_stream.h"
#include "verifier/bundle/ca_store_check.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/bundle/initramfs_check.h"
#include "verifier/bundle/integrity_pool.h"

namespace imab::verifier {

struct PayloadStats {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;
};

// Reads every remaining record of `manifest` and the matching bytes of
// `payload`, handing each checked entry to `sink`, then the 1024 end bytes.
// Store inputs and etc/ssl/certs entries go to `ca_store` (its Finish() is
// the caller's). Every entry, with its content digest, goes to `integrity`
// (borrowed) for
// its security.ima / security.evm checks; their failures do not stop the
// walk, so all bad files can be listed.
// Does not call payload.Finish() or manifest.Finish(). On failure: an error
// naming the entry ("entry 12 'usr/bin/ls': mode differs from the manifest")
// — kMalformed for tree rules and header mismatches, kDigestMismatch for
// content.
Status CheckPayload(ManifestReader& manifest, ZstdRegionReader& payload,
                    uint64_t created, const ImaChecker& checker,
                    IntegrityPool& integrity, InitramfsCheck& initramfs,
                    CaStoreCheck& ca_store, EntrySink& sink,
                    PayloadStats& stats);

}  // namespace imab::verifier
