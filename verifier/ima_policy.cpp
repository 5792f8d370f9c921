#include "verifier/ima_policy.h"

#include <charconv>
#include <set>
#include <sstream>

namespace imab::verifier {
namespace {

std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

Result<uint32_t> ParseId(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' is not a number");
  }
  return value;
}

// Conditions the kernel knows that a file's owner and group cannot decide.
const std::set<std::string_view>& UndecidableConditions() {
  static const std::set<std::string_view> kSet = {
      "func",     "mask",     "fsmagic",  "fsuuid",   "fsname",
      "uid",      "euid",     "gid",      "egid",     "obj_user",
      "obj_role", "obj_type", "subj_user", "subj_role", "subj_type",
      "keyrings", "label",    "pcr",      "template", "permit_directio",
      "appraise_flag", "appraise_algos", "digest_type"};
  return kSet;
}

}  // namespace

Result<ImaPolicy::Rule> ImaPolicy::ParseRule(std::string_view line) {
  std::vector<std::string_view> tokens = Tokens(line);
  Rule rule;
  rule.text = std::string(line);
  std::string_view action = tokens.front();
  if (action == "appraise") {
    rule.appraise = true;
  } else if (action == "dont_appraise") {
    rule.appraise = false;
  } else if (action == "measure" || action == "dont_measure" ||
             action == "audit" || action == "hash" || action == "dont_hash") {
    // Not about appraisal; returned with no effect.
    rule.appraise = false;
    rule.undecidable = true;
    rule.line = -1;
    return rule;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown action '" + std::string(action) + "'");
  }
  for (size_t i = 1; i < tokens.size(); ++i) {
    std::string_view token = tokens[i];
    size_t op = token.find_first_of("=<>");
    if (op == std::string_view::npos) {
      // Flags without a value (permit_directio) change nothing here.
      if (UndecidableConditions().count(token) != 0) {
        continue;
      }
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown condition '" + std::string(token) + "'");
    }
    std::string_view key = token.substr(0, op);
    std::string_view value = token.substr(op + 1);
    if (key == "fowner" || key == "fgroup") {
      Compare compare = token[op] == '=' ? Compare::kEqual
                        : token[op] == '>' ? Compare::kGreater
                                           : Compare::kLess;
      Result<uint32_t> id = ParseId(value);
      if (!id.has_value()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string(key) + ": " + id.error().message);
      }
      rule.ids.push_back({key == "fgroup", compare, *id});
    } else if (key == "appraise_type") {
      if (value != "imasig" && value != "imasig|modsig" && value != "modsig" &&
          value != "sigv3") {
        return MakeError(ErrorCode::kInvalidArgument,
                         "appraise_type '" + std::string(value) +
                             "' unknown");
      }
      rule.signature_required = true;
    } else if (UndecidableConditions().count(key) != 0) {
      rule.undecidable = true;
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown condition '" + std::string(key) + "'");
    }
  }
  return rule;
}

Result<ImaPolicy> ImaPolicy::Parse(std::string_view text,
                                   const std::string& where) {
  ImaPolicy policy;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    size_t hash = line.find('#');
    std::string_view body(line.data(),
                          hash == std::string::npos ? line.size() : hash);
    if (Tokens(body).empty()) {
      continue;
    }
    Result<Rule> rule = ParseRule(body);
    if (!rule.has_value()) {
      return MakeError(rule.error().code, where + ":" +
                                              std::to_string(number) + ": " +
                                              rule.error().message);
    }
    if (rule->line == -1) {
      continue;  // a measure/audit/hash rule
    }
    rule->line = number;
    policy.rules_.push_back(std::move(*rule));
  }
  return policy;
}

ImaPolicy ImaPolicy::AppraiseTcb() {
  ImaPolicy policy;
  Rule rule;
  rule.appraise = true;
  rule.ids.push_back({false, Compare::kEqual, 0});
  rule.line = 1;
  rule.text = "appraise fowner=0 (built-in appraise_tcb)";
  policy.rules_.push_back(std::move(rule));
  return policy;
}

bool ImaPolicy::Matches(const IdCondition& c, uint32_t owner,
                        uint32_t group) {
  uint32_t id = c.on_group ? group : owner;
  switch (c.compare) {
    case Compare::kEqual:
      return id == c.value;
    case Compare::kGreater:
      return id > c.value;
    case Compare::kLess:
      return id < c.value;
  }
  return false;
}

Appraisal ImaPolicy::Evaluate(uint32_t owner, uint32_t group) const {
  for (const Rule& rule : rules_) {
    bool ids_match = true;
    for (const IdCondition& c : rule.ids) {
      ids_match = ids_match && Matches(c, owner, group);
    }
    if (!ids_match) {
      continue;
    }
    if (!rule.appraise && rule.undecidable) {
      continue;  // may not exempt this file: keep looking
    }
    return Appraisal{rule.appraise, rule.signature_required, rule.line,
                     rule.text};
  }
  return Appraisal{};
}

}  // namespace imab::verifier
