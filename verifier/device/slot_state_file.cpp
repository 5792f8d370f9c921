#include "verifier/device/slot_state_file.h"

#include <charconv>
#include <vector>

#include "common/read/hex.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {
namespace {

constexpr std::string_view kFirstLine = "imabundle-slot-state 1";

// Reads the lines of a state file one by one, each "KEY VALUE" with the
// keys in the order EncodeSlotState writes them.
class LineReader {
 public:
  LineReader(std::string_view text, const std::string& where)
      : text_(text), where_(where) {}

  Result<std::string_view> Next() {
    size_t end = text_.find('\n');
    if (end == std::string_view::npos) {
      return Fail("missing line or final newline");
    }
    std::string_view line = text_.substr(0, end);
    text_.remove_prefix(end + 1);
    ++number_;
    return line;
  }

  Result<std::string_view> Value(std::string_view key) {
    IMAB_ASSIGN_OR_RETURN(std::string_view line, Next());
    // A value is never empty ("-" stands for that), so that each state
    // has one spelling.
    if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key ||
        line[key.size()] != ' ') {
      std::string what = "expected a line starting with ";
      return Fail(what.append(key));
    }
    return line.substr(key.size() + 1);
  }

  Result<uint64_t> Number(std::string_view key) {
    IMAB_ASSIGN_OR_RETURN(std::string_view value, Value(key));
    uint64_t out = 0;
    auto [end, ec] =
        std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || end != value.data() + value.size() ||
        (value.size() > 1 && value.front() == '0')) {
      std::string what(key);
      return Fail(what.append(" is not a number"));
    }
    return out;
  }

  bool AtEnd() const { return text_.empty(); }

  // True when the next line starts with "KEY ".
  bool NextIs(std::string_view key) const {
    return text_.size() > key.size() && text_.substr(0, key.size()) == key &&
           text_[key.size()] == ' ';
  }

  Error Fail(const std::string& what) const {
    return MakeError(ErrorCode::kIo,
                     where_ + " line " + std::to_string(number_) + ": " + what);
  }

 private:
  std::string_view text_;
  const std::string& where_;
  int number_ = 0;
};

// "-" stands for an empty value, so that every line has two tokens.
std::string Token(const std::string& value) {
  return value.empty() ? "-" : value;
}

std::string FromToken(std::string_view token) {
  return token == "-" ? "" : std::string(token);
}

// The boot key lines after bundle-sha256, up to and including "end":
// kernel-ca, ima-cert and evm-cert lines grouped in that order, then the
// shipped kernel's profile and version, each at most once.
Status ParseBootKeys(LineReader& lines, DeviceState& state) {
  const std::pair<std::string_view, std::vector<std::string>*> kinds[] = {
      {"kernel-ca", &state.kernel_cas},
      {"ima-cert", &state.ima_certs},
      {"evm-cert", &state.evm_certs}};
  size_t kind = 0;
  while (true) {
    IMAB_ASSIGN_OR_RETURN(std::string_view line, lines.Next());
    if (line == "end") {
      return OkStatus();
    }
    size_t space = line.find(' ');
    std::string_view key = line.substr(0, space);
    // The shipped kernel's profile and version close the list, each once.
    if ((key == "kernel-profile" && state.kernel_profile.empty() &&
         state.kernel_version.empty()) ||
        (key == "kernel-version" && state.kernel_version.empty())) {
      if (space == std::string_view::npos || space + 1 == line.size()) {
        return lines.Fail(std::string(key) + " has no value");
      }
      (key == "kernel-profile" ? state.kernel_profile : state.kernel_version) =
          std::string(line.substr(space + 1));
      kind = std::size(kinds);
      continue;
    }
    while (kind < std::size(kinds) && kinds[kind].first != key) {
      ++kind;
    }
    if (kind == std::size(kinds) || space == std::string_view::npos) {
      return lines.Fail("expected 'end' or a boot key line in order");
    }
    Result<std::string> der = HexDecode(line.substr(space + 1));
    if (!der.has_value() || der->empty()) {
      return lines.Fail(std::string(key) + " is not hex");
    }
    kinds[kind].second->push_back(std::move(*der));
  }
}

}  // namespace

std::string EncodeSlotState(const DeviceState& state) {
  std::string out = std::string(kFirstLine) + "\n";
  out += "slot " + Token(state.active_slot) + "\n";
  out += "version " + Token(state.image_version) + "\n";
  out += "compatible " + Token(state.compatible) + "\n";
  out += "key-generation " + std::to_string(state.key_generation) + "\n";
  out +=
      "trust-root-version " + std::to_string(state.trust_root_version) + "\n";
  out += "trust-root " +
         (state.trust_root.has_value() ? HexEncode(*state.trust_root)
                                       : std::string("-")) +
         "\n";
  out += "installed-at " + std::to_string(state.installed_at) + "\n";
  out += "bundle-sha256 " + Token(state.bundle_sha256) + "\n";
  // Only once confirmed, so that each state keeps one spelling and the
  // records written before boot confirmation still read (as unconfirmed).
  if (state.confirmed_at != 0) {
    out += "confirmed-at " + std::to_string(state.confirmed_at) + "\n";
  }
  auto certs = [&](const char* key, const std::vector<std::string>& ders) {
    for (const std::string& der : ders) {
      out += std::string(key) + " " + HexEncode(der) + "\n";
    }
  };
  certs("kernel-ca", state.kernel_cas);
  certs("ima-cert", state.ima_certs);
  certs("evm-cert", state.evm_certs);
  if (!state.kernel_profile.empty()) {
    out += "kernel-profile " + state.kernel_profile + "\n";
  }
  if (!state.kernel_version.empty()) {
    out += "kernel-version " + state.kernel_version + "\n";
  }
  out += "end\n";
  return out;
}

Result<DeviceState> ParseSlotState(std::string_view text,
                                   const std::string& where) {
  LineReader lines(text, where);
  if (text.size() > kMaxSlotStateBytes) {
    return lines.Fail("larger than " + std::to_string(kMaxSlotStateBytes) +
                      " bytes");
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view first, lines.Next());
  if (first != kFirstLine) {
    return lines.Fail("not a slot state file");
  }
  DeviceState state;
  IMAB_ASSIGN_OR_RETURN(std::string_view slot, lines.Value("slot"));
  if (slot != "a" && slot != "b") {
    return lines.Fail("slot must be a or b");
  }
  state.active_slot = std::string(slot);
  IMAB_ASSIGN_OR_RETURN(std::string_view version, lines.Value("version"));
  state.image_version = FromToken(version);
  IMAB_ASSIGN_OR_RETURN(std::string_view compatible, lines.Value("compatible"));
  state.compatible = FromToken(compatible);
  IMAB_ASSIGN_OR_RETURN(state.key_generation, lines.Number("key-generation"));
  IMAB_ASSIGN_OR_RETURN(state.trust_root_version,
                        lines.Number("trust-root-version"));
  IMAB_ASSIGN_OR_RETURN(std::string_view root, lines.Value("trust-root"));
  if (root != "-") {
    Result<std::string> bytes = HexDecode(root);
    if (!bytes.has_value() || bytes->empty()) {
      return lines.Fail("trust-root is not hex");
    }
    state.trust_root = std::move(*bytes);
  }
  if (state.trust_root.has_value() != (state.trust_root_version != 0)) {
    return lines.Fail("trust-root and trust-root-version disagree");
  }
  IMAB_ASSIGN_OR_RETURN(state.installed_at, lines.Number("installed-at"));
  IMAB_ASSIGN_OR_RETURN(std::string_view digest, lines.Value("bundle-sha256"));
  state.bundle_sha256 = FromToken(digest);
  if (lines.NextIs("confirmed-at")) {
    IMAB_ASSIGN_OR_RETURN(state.confirmed_at, lines.Number("confirmed-at"));
    if (state.confirmed_at == 0) {
      return lines.Fail("confirmed-at 0 is written as no line");
    }
  }
  IMAB_RETURN_IF_ERROR(ParseBootKeys(lines, state));
  if (!lines.AtEnd()) {
    return lines.Fail("expected 'end' as the last line");
  }
  return state;
}

Result<std::optional<DeviceState>> ReadSlotStateFile(const std::string& path,
                                                     const char* slot_name) {
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadSmallFile(path, kMaxSlotStateBytes));
  if (!text.has_value()) {
    return std::optional<DeviceState>();
  }
  IMAB_ASSIGN_OR_RETURN(DeviceState state, ParseSlotState(*text, path));
  if (state.active_slot != slot_name) {
    return MakeError(ErrorCode::kIo,
                     path + ": records slot " + state.active_slot);
  }
  return std::optional<DeviceState>(std::move(state));
}

}  // namespace imab::verifier
