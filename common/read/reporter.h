// Reporter: how library code tells the user about progress and warnings
// without printing (the idea of leveldb's log::Reader::Reporter).
#pragma once

#include <string_view>

namespace imab {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void Info(std::string_view message) = 0;
  virtual void Warn(std::string_view message) = 0;
};

// Discards everything; the default when a caller passes no reporter.
class NullReporter : public Reporter {
 public:
  void Info(std::string_view) override {}
  void Warn(std::string_view) override {}
};

}  // namespace imab
