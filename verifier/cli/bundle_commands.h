// BundleCommands: `imab-verify verify`, `extract` and `inspect`. Declares
// their flags (shared, as the three take the same trust options), then
// runs the parsed one: loads the trust material and opens the bundle once
// (verifier/load/), makes one library call and prints its outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "verifier/load/material_loader.h"

namespace CLI {
class App;
}

namespace imab::verifier::cli {

class BundleCommands {
 public:
  // Adds `verify` and `extract` and their options to `app`. CLI11 writes
  // the parsed values into this object, which therefore must not move and
  // must outlive the parse.
  explicit BundleCommands(CLI::App& app);
  // Adds `inspect`, called after the other commands so that --help lists
  // them in their order.
  void AddInspect(CLI::App& app);
  BundleCommands(const BundleCommands&) = delete;
  BundleCommands& operator=(const BundleCommands&) = delete;

  // Runs the parsed command; returns the exit code (0 accepted, 1
  // rejected, 2 usage or I/O error).
  int Run();

 private:
  struct Loaded {
    LoadedRun run;
    std::string slots_dir;  // the device's, for its path reserve
  };

  void AddCommon(CLI::App* command);
  Status PrepareDevice(Loaded& loaded);
  Status Load(Loaded& loaded);
  int RunVerify();
  int RunExtract();
  int RunInspect();

  std::string bundle_path_;
  std::string release_ca_;  // --release-ca PEM file
  std::string trust_root_;  // or --trust-root file
  std::string root_;        // --root: judge against this device
  std::vector<std::string> ca_require_;
  uint32_t ca_expiry_horizon_days_ = 365;
  bool json_ = false;
  bool no_time_check_ = false;
  bool require_eku_ = false;
  bool allow_development_ = false;
  bool in_place_ = false;
  bool allow_reinstall_ = false;
  std::string extract_to_;  // extract --to
  std::string against_;     // inspect --against: the previous bundle
  CLI::App* verify_ = nullptr;
  CLI::App* extract_ = nullptr;
  CLI::App* inspect_ = nullptr;
};

}  // namespace imab::verifier::cli
