#include "common/write/xattr_order.h"

#include <algorithm>

namespace imab {

void SortXattrs(std::vector<Xattr>& xattrs) {
  std::sort(xattrs.begin(), xattrs.end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
}

void SetXattr(Entry& entry, std::string_view name, std::string value) {
  for (Xattr& x : entry.xattrs) {
    if (x.name == name) {
      x.value = std::move(value);
      return;
    }
  }
  entry.xattrs.push_back({std::string(name), std::move(value)});
  SortXattrs(entry.xattrs);
}

}  // namespace imab
