// GrubEnv: GRUB's environment block (the grubenv file that load_env and
// save_env read and write): a 1024-byte block starting
// "# GRUB Environment Block\n", then NAME=VALUE lines, '#' comment lines,
// and '#' padding to the end (manifests/device.conf.md, "Bootloader",
// grub). Values escape '\' and newline with a backslash, as GRUB's
// lib/envblk.c and grub-editenv write them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

// The size of the block grub-editenv creates; save_env rewrites a file's
// sectors in place and so never changes it.
inline constexpr size_t kGrubEnvBytes = 1024;
inline constexpr std::string_view kGrubEnvSignature =
    "# GRUB Environment Block\n";

class GrubEnv {
 public:
  // One line of the block: a variable, or a comment kept as written.
  struct Item {
    bool comment = false;
    std::string name;   // variables
    std::string value;  // variables: unescaped
    std::string text;   // comments: the raw line, newline included
    bool operator==(const Item&) const = default;
  };

  // Reads a whole block. kMalformed naming `where` and the byte offset for
  // anything GRUB would read differently or could not update: not exactly
  // kGrubEnvBytes, another signature, a line without '=', a NUL, an empty
  // or duplicated name, a last line without its newline, anything but '#'
  // after the last line.
  static Result<GrubEnv> Parse(std::string_view block,
                               const std::string& where);

  // The value of `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // Replaces the value of `name` where it stands, or appends it. `name`
  // must be a valid variable name (no '=', newline or NUL, not starting
  // with '#', not empty), `value` free of NUL; kInvalidArgument otherwise.
  Status Set(const std::string& name, const std::string& value);
  // Moves the variables `names` (those present) to the front, in that
  // order; the rest keeps its order.
  void MoveToFront(const std::vector<std::string>& names);

  // The block: signature, the items, '#' up to kGrubEnvBytes.
  // kLimitExceeded when they do not fit.
  Result<std::string> Render() const;

  const std::vector<Item>& items() const { return items_; }
  bool operator==(const GrubEnv&) const = default;

 private:
  std::vector<Item> items_;
};

}  // namespace imab::verifier
