// ReadBackImage: a written image, mounted read-only, against the signed
// manifest entries it was written from. What a block slot must pass
// before it may be activated: the write went through the page cache of a
// mount that is gone, so this proves what the partition itself holds.
#pragma once

#include <string>
#include <vector>

#include "common/read/entry.h"
#include "common/read/result.h"

namespace imab::verifier {

// What the read-back keeps of `entry` until the image is read back: the
// entry with each xattr value replaced by the value's SHA-256, so that a
// record of a signed file costs 64 bytes of digests, not two signatures
// (the sink keeps one record per entry). kInternal if hashing fails.
Result<Entry> ReadBackRecord(const Entry& entry);

// Checks the tree below `root` (not followed through symlinks) against
// `entries` (records made by ReadBackRecord, in manifest order, each
// hardlink after its target): every
// entry present with its type, mode (not for symlinks), owner, device
// number, size and content SHA-256, symlink target, every xattr by name
// and exact value (security.ima and security.evm included) and no other
// xattr; a hardlink shares its target's inode; and no path that is not an
// entry. kIo "read-back of WHAT: PATH: DIFFERENCE" for the first
// difference, with the count of the others; `what` names the slot.
Status ReadBackImage(const std::string& root, const std::vector<Entry>& entries,
                     const std::string& what);

}  // namespace imab::verifier
