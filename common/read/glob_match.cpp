#include "common/read/glob_match.h"

#include <vector>

namespace imab {

bool GlobMatch(std::string_view pattern, std::string_view path) {
  while (!pattern.empty() && pattern.front() == '/') {
    pattern.remove_prefix(1);
  }
  // Dynamic programming over (pattern position, path position), so mixed
  // '*' and '**' never need exponential backtracking. match[s] holds
  // whether pattern[p..] matches path[s..] for the current p (from the end).
  const size_t n = path.size();
  std::vector<char> next(n + 1, 0);  // row p + 1 (or p + 2 for '**')
  std::vector<char> next2(n + 1, 0);
  std::vector<char> row(n + 1, 0);
  next[n] = 1;  // empty pattern matches the empty rest
  for (size_t p = pattern.size(); p-- > 0;) {
    bool double_star =
        pattern[p] == '*' && p + 1 < pattern.size() && pattern[p + 1] == '*';
    // For '**' the row after it is two positions on, which is `next2` when
    // we are at the first '*' of the pair.
    const std::vector<char>& after = double_star ? next2 : next;
    row[n] = pattern[p] == '*' ? after[n] : 0;
    for (size_t s = n; s-- > 0;) {
      char c = pattern[p];
      if (c == '*') {
        bool may_eat = double_star || path[s] != '/';
        row[s] = static_cast<char>(after[s] || (may_eat && row[s + 1]));
      } else if (c == '?') {
        row[s] = static_cast<char>(path[s] != '/' && next[s + 1]);
      } else {
        row[s] = static_cast<char>(path[s] == c && next[s + 1]);
      }
    }
    next2.swap(next);
    next.swap(row);
  }
  return next[0] != 0;
}

}  // namespace imab
