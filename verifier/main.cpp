// imab-verify: command-line entry point. Parses arguments, calls the
// verifier library, prints the outcome and maps it to an exit code:
// 0 accepted, 1 rejected, 2 usage or I/O error.
#include <CLI/CLI.hpp>

#include <ctime>
#include <iostream>
#include <optional>

#include "verifier/bundle_verifier.h"
#include "verifier/ca_inspect.h"
#include "verifier/directory_sink.h"
#include "verifier/report_json.h"

namespace {

class StderrReporter : public imab::Reporter {
 public:
  void Info(std::string_view message) override {
    std::cerr << "imab-verify: " << message << "\n";
  }
  void Warn(std::string_view message) override {
    std::cerr << "imab-verify: warning: " << message << "\n";
  }
};

struct Options {
  imab::verifier::VerifyOptions verify;
  bool json = false;
  bool no_time_check = false;
  std::string extract_to;
  std::string against;  // inspect: the previous bundle
};

int ExitCode(const imab::Error& error) {
  return imab::IsVerificationFailure(error.code) ? 1 : 2;
}

int Report(const Options& options, const imab::verifier::VerifyReport& report,
           const imab::Status& status, const char* verb) {
  std::optional<imab::Error> failure;
  if (!status.ok()) {
    failure = status.error();
  }
  if (options.json) {
    std::cout << imab::verifier::RenderReportJson(report, failure);
  }
  if (failure.has_value()) {
    std::cerr << "imab-verify: "
              << (ExitCode(*failure) == 1 ? "rejected: " : "error: ")
              << failure->message << "\n";
    return ExitCode(*failure);
  }
  if (!options.json) {
    std::cout << verb << " " << options.verify.bundle_path << ": version "
              << report.header.image_version << " for "
              << report.header.compatible << ", " << report.entries
              << " entries (" << report.files << " files, "
              << report.content_bytes << " bytes), signed by "
              << report.signer << "\n";
  }
  return 0;
}

int Run(Options options, bool extract) {
  options.verify.signature.check_time = !options.no_time_check;
  StderrReporter reporter;
  imab::verifier::VerifyReport report;
  if (!extract) {
    imab::verifier::NullSink sink;
    imab::Status status =
        imab::verifier::VerifyBundle(options.verify, sink, report);
    return Report(options, report, status, "verified");
  }
  auto sink = imab::verifier::DirectorySink::Create(options.extract_to,
                                                    reporter);
  if (!sink.has_value()) {
    std::cerr << "imab-verify: error: " << sink.error().message << "\n";
    return 2;
  }
  imab::Status status =
      imab::verifier::VerifyBundle(options.verify, **sink, report);
  return Report(options, report, status, "extracted");
}

int RunInspect(Options options) {
  options.verify.signature.check_time = !options.no_time_check;
  imab::verifier::InspectOptions inspect;
  inspect.verify = options.verify;
  inspect.against = options.against;
  inspect.now = static_cast<int64_t>(std::time(nullptr));
  imab::verifier::InspectResult result;
  imab::Status status = imab::verifier::InspectBundles(inspect, result);
  if (!status.ok()) {
    return Report(options, result.report, status, "inspected");
  }
  uint32_t horizon = options.verify.ca.expiry_horizon_days;
  if (options.json) {
    std::cout << imab::verifier::RenderReportJson(
        result.report, std::nullopt,
        ", \"ca_store\": " + imab::verifier::RenderCaDiffJson(result.diff));
    return 0;
  }
  Report(options, result.report, status, "inspected");
  std::cout << imab::verifier::RenderCaDiffText(result.diff, horizon);
  return 0;
}

void AddCommon(CLI::App* cmd, Options& options) {
  cmd->add_option("bundle", options.verify.bundle_path, "Bundle file (.imab)")
      ->required();
  CLI::Option* ca = cmd->add_option("--release-ca", options.verify.release_ca,
                                    "Trusted release CA certificates (PEM)");
  CLI::Option* root = cmd->add_option(
      "--trust-root", options.verify.trust_root,
      "The device's signed trust root (instead of --release-ca)");
  ca->excludes(root);
  root->excludes(ca);
  cmd->add_flag("--json", options.json, "Print a JSON report on stdout");
  cmd->add_flag("--allow-development", options.verify.allow_development,
                "Accept bundles built with published development keys");
  cmd->add_flag("--no-time-check", options.no_time_check,
                "Do not check certificate validity periods (no trusted "
                "clock)");
  cmd->add_option("--ca-require", options.verify.ca.required,
                  "CA the new image's store must hold: link NAME or "
                  "certificate FILE (repeatable)");
  cmd->add_option("--ca-expiry-horizon", options.verify.ca.expiry_horizon_days,
                  "A required CA may not expire within DAYS")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imab-verify: verify and install imabundle updates"};
  app.require_subcommand(1);
  Options options;
  CLI::App* verify = app.add_subcommand("verify", "Verify a bundle");
  AddCommon(verify, options);
  CLI::App* extract =
      app.add_subcommand("extract", "Verify a bundle and extract its image");
  AddCommon(extract, options);
  extract->add_option("--to", options.extract_to, "Folder to create")
      ->required();
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "Verify a bundle and list the CA anchors it adds, removes "
      "and lets expire");
  AddCommon(inspect, options);
  inspect->add_option("--against", options.against,
                      "Previous bundle to compare with (verified too)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imab-verify: usage error: " << e.what() << "\n";
    return 2;
  }
  try {
    if (inspect->parsed()) {
      return RunInspect(options);
    }
    return Run(options, extract->parsed());
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-verify: error: out of memory\n";
    return 2;
  }
}
