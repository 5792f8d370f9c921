#include "verifier/device/last_result.h"

#include <charconv>

namespace imab::verifier {
namespace {

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text;
}

// The value of the line "KEY VALUE" at the front of `text`, consumed.
Result<std::string> TakeValue(std::string_view& text, std::string_view key,
                              const std::string& where) {
  size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  if (end == std::string_view::npos || line.size() < key.size() + 1 ||
      line.substr(0, key.size()) != key || line[key.size()] != ' ') {
    return MakeError(ErrorCode::kIo,
                     where + ": expected a '" + std::string(key) + "' line");
  }
  text.remove_prefix(end + 1);
  return std::string(line.substr(key.size() + 1));
}

}  // namespace

std::string EncodeLastResult(const LastResult& result) {
  return "time " + std::to_string(result.time) + "\nbundle " +
         OneLine(result.bundle) + "\nresult " + OneLine(result.outcome) +
         "\nreason " + OneLine(result.reason) + "\n";
}

Result<LastResult> ParseLastResult(std::string_view text,
                                   const std::string& where) {
  LastResult result;
  IMAB_ASSIGN_OR_RETURN(std::string time, TakeValue(text, "time", where));
  auto [end, ec] =
      std::from_chars(time.data(), time.data() + time.size(), result.time);
  if (ec != std::errc() || end != time.data() + time.size()) {
    return MakeError(ErrorCode::kIo, where + ": time is not a number");
  }
  IMAB_ASSIGN_OR_RETURN(result.bundle, TakeValue(text, "bundle", where));
  IMAB_ASSIGN_OR_RETURN(result.outcome, TakeValue(text, "result", where));
  IMAB_ASSIGN_OR_RETURN(result.reason, TakeValue(text, "reason", where));
  if (!text.empty()) {
    return MakeError(ErrorCode::kIo, where + ": trailing bytes");
  }
  return result;
}

}  // namespace imab::verifier
