// Reading etc/ca-certificates.conf and naming links the way Debian's
// update-ca-certificates does (docs ca-certificates.md §2, §3).
#include "common/read/ca_conf.h"

#include <utility>

namespace imab {
namespace {

struct RawLine {
  std::string_view text;
  bool has_newline = false;
  size_t number = 0;
};

std::vector<RawLine> SplitLines(std::string_view bytes) {
  std::vector<RawLine> lines;
  size_t start = 0;
  size_t number = 1;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back({bytes.substr(start), false, number});
      break;
    }
    lines.push_back({bytes.substr(start, end - start), true, number});
    start = end + 1;
    ++number;
  }
  return lines;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// dash's `read VAR` without -r over a stream of lines: returns the values
// of every complete read, with the line each started on.
std::vector<std::pair<std::string, size_t>> ReadLoop(
    const std::vector<RawLine>& stream) {
  std::vector<std::pair<std::string, size_t>> values;
  size_t i = 0;
  while (i < stream.size()) {
    std::string value;
    std::vector<bool> escaped;
    size_t first = stream[i].number;
    bool complete = false;
    while (i < stream.size()) {
      const RawLine& line = stream[i++];
      bool continued = false;
      for (size_t j = 0; j < line.text.size(); ++j) {
        if (line.text[j] != '\\') {
          value.push_back(line.text[j]);
          escaped.push_back(false);
          continue;
        }
        if (j + 1 < line.text.size()) {
          value.push_back(line.text[++j]);
          escaped.push_back(true);
          continue;
        }
        continued = line.has_newline;  // backslash-newline joins lines
      }
      if (continued) {
        continue;
      }
      complete = line.has_newline;
      break;
    }
    // `read` fails at end of input without a newline: the body never runs.
    if (!complete) {
      break;
    }
    size_t begin = 0;
    size_t end = value.size();
    while (begin < end && !escaped[begin] && IsBlank(value[begin])) {
      ++begin;
    }
    while (end > begin && !escaped[end - 1] && IsBlank(value[end - 1])) {
      --end;
    }
    values.emplace_back(value.substr(begin, end - begin), first);
  }
  return values;
}

}  // namespace

std::vector<CaConfLine> ParseCaConf(std::string_view conf) {
  std::vector<RawLine> deselects;
  std::vector<RawLine> selects;
  for (const RawLine& line : SplitLines(conf)) {
    // sed -e '/^$/d' -e '/^#/d': only a first byte '#' makes a comment.
    if (line.text.empty() || line.text[0] == '#') {
      continue;
    }
    (line.text[0] == '!' ? deselects : selects).push_back(line);
  }
  std::vector<CaConfLine> out;
  for (auto& [value, number] : ReadLoop(deselects)) {
    out.push_back({value.substr(1), true, number});
  }
  for (auto& [value, number] : ReadLoop(selects)) {
    out.push_back({std::move(value), false, number});
  }
  return out;
}

std::string_view CaBaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos || path.size() == 1
             ? path
             : path.substr(slash + 1);
}

std::string CaLinkName(std::string_view path) {
  std::string_view base = CaBaseName(path);
  // basename NAME .crt keeps a name that is only the suffix.
  if (base.size() > 4 && base.ends_with(".crt")) {
    base.remove_suffix(4);
  }
  std::string name;
  for (char c : base) {
    name.push_back(c == ' ' || c == ',' ? '_' : c == '(' || c == ')' ? '=' : c);
  }
  return name + ".pem";
}

}  // namespace imab
