// LastResult: what the most recent install attempt on a device did, kept in
// SLOTS/last-result for `imab-verify status`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/read/result.h"

namespace imab::verifier {

struct LastResult {
  uint64_t time = 0;    // seconds since the epoch
  std::string bundle;   // path as given to install
  std::string outcome;  // "accepted", "rejected" or "error"
  std::string reason;   // first line of the error; "" when accepted
};

// Four "key value" lines: time, bundle, result, reason. Newlines in the
// values are replaced by spaces, so a line never splits.
std::string EncodeLastResult(const LastResult& result);

// Parses what EncodeLastResult wrote; kIo "WHERE: ..." otherwise.
Result<LastResult> ParseLastResult(std::string_view text,
                                   const std::string& where);

}  // namespace imab::verifier
