// The canonical order of an entry's xattrs (by name, byte order), which the
// manifest writer requires and the device only checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/read/entry.h"

namespace imab {

// Sorts xattrs by name (byte order), the canonical order everywhere.
void SortXattrs(std::vector<Xattr>& xattrs);

// Sets (replaces or adds) the xattr `name`, keeping the canonical order.
void SetXattr(Entry& entry, std::string_view name, std::string value);

}  // namespace imab
