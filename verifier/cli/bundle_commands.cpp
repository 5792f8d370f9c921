#include "verifier/cli/bundle_commands.h"

#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>

#include "verifier/bundle/ca_inspect.h"
#include "verifier/bundle/report_json.h"
#include "verifier/cli/output.h"
#include "verifier/device/install.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier::cli {

BundleCommands::BundleCommands(CLI::App& app) {
  verify_ = app.add_subcommand("verify", "Verify a bundle");
  AddCommon(verify_);
  extract_ =
      app.add_subcommand("extract", "Verify a bundle and extract its image");
  AddCommon(extract_);
  extract_->add_option("--to", extract_to_, "Folder to create")->required();
}

void BundleCommands::AddInspect(CLI::App& app) {
  inspect_ = app.add_subcommand(
      "inspect",
      "Verify a bundle and list the CA anchors it adds, removes "
      "and lets expire");
  AddCommon(inspect_);
  inspect_->add_option("--against", against_,
                       "Previous bundle to compare with (verified too)");
}

void BundleCommands::AddCommon(CLI::App* cmd) {
  cmd->add_option("bundle", bundle_path_, "Bundle file (.imab)")->required();
  CLI::Option* ca = cmd->add_option("--release-ca", release_ca_,
                                    "Trusted release CA certificates (PEM)");
  CLI::Option* root = cmd->add_option(
      "--trust-root", trust_root_,
      "The device's signed trust root (instead of --release-ca)");
  ca->excludes(root);
  root->excludes(ca);
  cmd->add_flag("--json", json_, "Print a JSON report on stdout");
  cmd->add_flag("--allow-development", allow_development_,
                "Accept bundles built with published development keys");
  cmd->add_flag("--no-time-check", no_time_check_,
                "Do not check certificate validity periods or the manifest "
                "expiry (no trusted clock)");
  cmd->add_flag("--require-eku", require_eku_,
                "The release signer must carry extendedKeyUsage "
                "codeSigning (as release-require-eku = yes in device.conf)");
  cmd->add_option("--root", root_,
                  "Device root folder (holds etc/imabundle/device.conf): "
                  "also run the device's trust decision and rollback checks");
  cmd->add_flag("--in-place", in_place_,
                "Judge as an in-place update: every replaced file must also "
                "verify under the running keyring");
  cmd->add_flag("--allow-reinstall", allow_reinstall_,
                "Accept a version equal to the installed one");
  cmd->add_option("--ca-require", ca_require_,
                  "CA the new image's store must hold: link NAME or "
                  "certificate FILE (repeatable)");
  cmd->add_option("--ca-expiry-horizon", ca_expiry_horizon_days_,
                  "A required CA may not expire within DAYS")
      ->capture_default_str();
}

int BundleCommands::Run() {
  if (inspect_ != nullptr && inspect_->parsed()) {
    return RunInspect();
  }
  return extract_->parsed() ? RunExtract() : RunVerify();
}

// With --root: the device's configuration supplies what the command line
// did not (release CA or trust root, development bundles), and the run
// makes the device's trust decision. A device that cannot be read is an
// error of the command, before any report.
Status BundleCommands::PrepareDevice(Loaded& loaded) {
  if (root_.empty()) {
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(loaded.run.trust.device,
                        LoadDeviceConfigAndState(root_, loaded.slots_dir));
  return OkStatus();
}

// The bundle and what the run trusts, in the order the checks once read
// them: the bundle, the release trust, the device's keys, the CAs.
Status BundleCommands::Load(Loaded& loaded) {
  VerifyOptions& options = loaded.run.options;
  options.signature.check_time = !no_time_check_;
  options.signature.require_eku = require_eku_;
  options.allow_development = allow_development_;
  options.allow_reinstall = allow_reinstall_;
  IMAB_RETURN_IF_ERROR(OpenBundle(bundle_path_, loaded.run));
  TrustMaterial& trust = loaded.run.trust;
  std::optional<DeviceMaterial>& device = trust.device;
  if (!device.has_value() || !release_ca_.empty() || !trust_root_.empty()) {
    IMAB_ASSIGN_OR_RETURN(trust.release,
                          LoadReleaseAnchors(release_ca_, trust_root_));
  } else {
    IMAB_ASSIGN_OR_RETURN(
        trust.release, LoadDeviceReleaseAnchors(device->config, device->state));
  }
  if (!device.has_value()) {
    IMAB_ASSIGN_OR_RETURN(
        options.ca, LoadRequiredCas(ca_require_, ca_expiry_horizon_days_));
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(device->trust,
                        LoadDeviceTrust(device->config, device->state));
  device->trust.in_place = device->trust.in_place || in_place_;
  ApplyDeviceSettings(device->config, loaded.slots_dir, options);
  if (device->path_reserve != 0) {
    options.path_reserve = device->path_reserve;  // block slots' mount point
  }
  IMAB_ASSIGN_OR_RETURN(options.ca,
                        LoadDeviceRequiredCas(device->config, ca_require_));
  return OkStatus();
}

int BundleCommands::RunVerify() {
  Loaded loaded;
  Status prepared = PrepareDevice(loaded);
  if (!prepared.ok()) {
    return PrintError(prepared.error());
  }
  VerifyReport report;
  Status load = Load(loaded);
  if (!load.ok()) {
    Result<VerifiedBundle> failed = std::move(load).error();
    return ReportVerified({report, failed}, json_, "verified", bundle_path_);
  }
  NullSink sink;
  Result<VerifiedBundle> verified =
      VerifyBundle(loaded.run.options, sink, report);
  return ReportVerified({report, verified}, json_, "verified", bundle_path_);
}

int BundleCommands::RunExtract() {
  Loaded loaded;
  Status prepared = PrepareDevice(loaded);
  if (!prepared.ok()) {
    return PrintError(prepared.error());
  }
  StderrReporter reporter;
  auto sink = DirectorySink::Create(extract_to_, reporter);
  if (!sink.has_value()) {
    return PrintError(sink.error());
  }
  VerifyReport report;
  Status load = Load(loaded);
  if (!load.ok()) {
    (*sink)->Abort();
    Result<VerifiedBundle> failed = std::move(load).error();
    return ReportVerified({report, failed}, json_, "extracted", bundle_path_);
  }
  // What extraction below --to can write, not a device's slot.
  loaded.run.options.path_reserve = DirectorySink::PathReserve(extract_to_);
  Result<VerifiedBundle> verified =
      VerifyBundle(loaded.run.options, **sink, report);
  return ReportVerified({report, verified}, json_, "extracted", bundle_path_);
}

// Inspect judges no device: --root and the device flags are not used.
int BundleCommands::RunInspect() {
  root_.clear();
  Loaded loaded;
  InspectResult result;
  Status load = Load(loaded);
  std::unique_ptr<FileByteSource> against;
  if (load.ok() && !against_.empty()) {
    Result<std::unique_ptr<FileByteSource>> opened =
        FileByteSource::Open(against_);
    load = opened.has_value()
               ? OkStatus()
               : Status(WithContext(opened.error(),
                                    "previous bundle " + against_));
    against = opened.has_value() ? std::move(*opened) : nullptr;
  }
  if (!load.ok()) {
    Result<VerifiedBundle> failed = std::move(load).error();
    return ReportVerified({result.report, failed}, json_, "inspected",
                          bundle_path_);
  }
  InspectOptions inspect{loaded.run.options, against.get(), against_,
                         static_cast<int64_t>(std::time(nullptr))};
  Result<VerifiedBundle> verified = InspectBundles(inspect, result);
  if (!verified.has_value()) {
    return ReportVerified({result.report, verified}, json_, "inspected",
                          bundle_path_);
  }
  if (json_) {
    std::cout << RenderReportJson(
        result.report, std::nullopt,
        ", \"ca_store\": " + RenderCaDiffJson(result.diff));
    return 0;
  }
  ReportVerified({result.report, verified}, false, "inspected", bundle_path_);
  std::cout << RenderCaDiffText(result.diff,
                                loaded.run.options.ca.expiry_horizon_days);
  return 0;
}

}  // namespace imab::verifier::cli
