// etc/ca-certificates.conf as Debian's update-ca-certificates reads it, and
// the `.pem` link names its add() gives (docs ca-certificates.md §2, §3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace imab {

// One line of the conf as the script's `read` loop sees it.
struct CaConfLine {
  std::string name;       // certificate path relative to the shared folder
  bool deselect = false;  // a `!` line
  size_t line = 0;        // 1-based line number in the file
};

// Parses conf bytes with the script's rules: lines that are empty or start
// with `#` are skipped; a first byte `!` deselects; the rest of the line
// goes through dash's `read` without -r (surrounding blanks trimmed,
// backslashes escape the next byte, backslash-newline continues the line,
// a trailing CR kept); a last line without '\n' is ignored. Never fails.
std::vector<CaConfLine> ParseCaConf(std::string_view conf);

// The `.pem` link name add() gives the certificate at `path`: the basename
// without a trailing ".crt", ' ' and ',' -> '_', '(' and ')' -> '=', plus
// ".pem".
std::string CaLinkName(std::string_view path);

// The last component of `path` as basename(1) gives it ("a/b/" -> "b",
// "/" -> "/").
std::string_view CaBaseName(std::string_view path);

}  // namespace imab
