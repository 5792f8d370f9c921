// imab-verify: command-line entry point. Parses arguments, calls the
// verifier library, prints the outcome and maps it to an exit code:
// 0 accepted, 1 rejected, 2 usage or I/O error.
#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>
#include <optional>

#include "verifier/bundle/bundle_verifier.h"
#include "verifier/bundle/ca_inspect.h"
#include "verifier/device/device_init.h"
#include "verifier/device/device_report.h"
#include "verifier/device/device_status.h"
#include "verifier/slots/directory_sink.h"
#include "verifier/device/install.h"
#include "verifier/bundle/report_json.h"

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
  std::string root;  // --root: judge against this device
  imab::verifier::InstallOptions install;
  std::string status_root;
  imab::verifier::InitOptions init;
  std::string against;  // inspect: the previous bundle
};

int ExitCode(const imab::Error& error) {
  return imab::IsVerificationFailure(error.code) ? 1 : 2;
}

// The failure of `status`, if any, for the JSON renderers.
std::optional<imab::Error> FailureOf(const imab::Status& status) {
  if (status.ok()) {
    return std::nullopt;
  }
  return status.error();
}

// One line on stderr ("rejected: ..." for a verdict, "error: ..." for
// usage or I/O trouble) and the exit code.
int PrintFailure(const imab::Error& failure) {
  std::cerr << "imab-verify: "
            << (ExitCode(failure) == 1 ? "rejected: " : "error: ")
            << failure.message << "\n";
  return ExitCode(failure);
}

// The trust decision's notes on an accepted bundle (a refusal's message
// carries them already): they refuse nothing, but say what it assumed.
void PrintTrustNotes(const std::optional<imab::verifier::TrustVerdict>& trust) {
  if (!trust.has_value()) {
    return;
  }
  for (const std::string& note : trust->notes) {
    std::cerr << "imab-verify: note: " << note << "\n";
  }
}

int Report(const Options& options, const imab::verifier::VerifyReport& report,
           const imab::Status& status, const char* verb) {
  std::optional<imab::Error> failure = FailureOf(status);
  if (options.json) {
    std::cout << imab::verifier::RenderReportJson(report, failure);
  }
  if (failure.has_value()) {
    return PrintFailure(*failure);
  }
  PrintTrustNotes(report.trust);
  if (!options.json) {
    std::cout << verb << " " << options.verify.bundle_path << ": version "
              << report.header.image_version << " for "
              << report.header.compatible << ", " << report.entries
              << " entries (" << report.files << " files, "
              << report.content_bytes << " bytes), signed by " << report.signer
              << "\n";
  }
  return 0;
}

// With --root: the device's configuration supplies what the command line
// did not (release CA or trust root, development bundles), and the run
// makes the device's trust decision.
int PrepareDevice(Options& options,
                  std::optional<imab::verifier::DeviceConfig>& config,
                  std::optional<imab::verifier::DeviceState>& state) {
  if (options.root.empty()) {
    return 0;
  }
  config.emplace();
  state.emplace();
  imab::Status ok = imab::verifier::PrepareDeviceVerify(options.root, *config,
                                                        *state, options.verify);
  if (!ok.ok()) {
    std::cerr << "imab-verify: error: " << ok.error().message << "\n";
    return 2;
  }
  return 0;
}

int Run(Options options, bool extract) {
  options.verify.signature.check_time = !options.no_time_check;
  std::optional<imab::verifier::DeviceConfig> config;
  std::optional<imab::verifier::DeviceState> state;
  if (int rc = PrepareDevice(options, config, state); rc != 0) {
    return rc;
  }
  StderrReporter reporter;
  imab::verifier::VerifyReport report;
  if (!extract) {
    imab::verifier::NullSink sink;
    imab::Status status =
        imab::verifier::VerifyBundle(options.verify, sink, report);
    return Report(options, report, status, "verified");
  }
  // What extraction below --to can write, not a device's slot.
  options.verify.path_reserve =
      imab::verifier::DirectorySink::PathReserve(options.extract_to);
  auto sink =
      imab::verifier::DirectorySink::Create(options.extract_to, reporter);
  if (!sink.has_value()) {
    std::cerr << "imab-verify: error: " << sink.error().message << "\n";
    return 2;
  }
  imab::Status status =
      imab::verifier::VerifyBundle(options.verify, **sink, report);
  return Report(options, report, status, "extracted");
}

// Prints the outcome of `install` or `device init --from-bundle`.
int ReportInstall(const Options& options,
                  const imab::verifier::InstallReport& report,
                  const imab::Status& status) {
  std::optional<imab::Error> failure = FailureOf(status);
  if (options.json) {
    std::cout << imab::verifier::RenderInstallJson(report, failure);
  }
  if (failure.has_value()) {
    return PrintFailure(*failure);
  }
  PrintTrustNotes(report.verify.trust);
  if (!options.json) {
    std::cout << "installed " << report.verify.header.image_version << " for "
              << report.installed.compatible << " into slot "
              << report.installed.active_slot << " (now active; was "
              << (report.previous.image_version.empty()
                      ? std::string("empty")
                      : report.previous.image_version)
              << "), key generation floor " << report.installed.key_generation
              << "\n";
  }
  return 0;
}

int RunInstall(Options options) {
  options.install.check_time = !options.no_time_check;
  StderrReporter reporter;
  imab::verifier::InstallReport report;
  imab::Status status =
      imab::verifier::InstallBundle(options.install, reporter, report);
  return ReportInstall(options, report, status);
}

int RunStatus(const Options& options) {
  auto status = imab::verifier::ReadDeviceStatus(options.status_root);
  if (!status.has_value()) {
    std::cerr << "imab-verify: error: " << status.error().message << "\n";
    return 2;
  }
  std::cout << (options.json ? imab::verifier::RenderStatusJson(*status)
                             : imab::verifier::RenderStatusText(*status));
  return status->consistent() ? 0 : 2;
}

int RunInit(Options options) {
  options.init.check_time = !options.no_time_check;
  StderrReporter reporter;
  imab::verifier::InstallReport report;
  imab::Status status =
      imab::verifier::InitDevice(options.init, reporter, report);
  if (!options.init.from_bundle.empty() && report.verify.manifest_parsed) {
    return ReportInstall(options, report, status);
  }
  if (!status.ok()) {
    std::cerr << "imab-verify: error: " << status.error().message << "\n";
    return ExitCode(status.error());
  }
  std::cout << "initialised " << options.init.root << " for "
            << options.init.compatible << "\n";
  return 0;
}

void AddInstall(CLI::App* cmd, Options& options) {
  cmd->add_option("bundle", options.install.bundle_path, "Bundle file (.imab)")
      ->required();
  cmd->add_option("--root", options.install.root,
                  "The device's root folder (holds etc/imabundle/)")
      ->required();
  cmd->add_flag("--allow-reinstall", options.install.allow_reinstall,
                "Accept the version already installed");
  cmd->add_flag("--in-place", options.install.in_place,
                "Judge the bundle as an in-place update");
  cmd->add_flag("--json", options.json, "Print a JSON report on stdout");
  cmd->add_flag("--no-time-check", options.no_time_check,
                "Do not check certificate validity periods");
}

void AddInit(CLI::App* cmd, Options& options) {
  imab::verifier::InitOptions& init = options.init;
  cmd->add_option("--root", init.root, "The device's root folder")->required();
  cmd->add_option("--compatible", init.compatible, "Device class")->required();
  CLI::Option* ca = cmd->add_option("--release-ca", init.release_ca,
                                    "Trusted release CA certificates (PEM)");
  CLI::Option* root =
      cmd->add_option("--trust-root", init.trust_root,
                      "Signed release trust root (instead of --release-ca)");
  ca->excludes(root);
  root->excludes(ca);
  cmd->add_option("--kernel-ca", init.kernel_ca,
                  "CA built into the device kernel (PEM)")
      ->required();
  cmd->add_option("--ima-cert", init.ima_cert,
                  "IMA signing certificate (PEM or DER)")
      ->required();
  cmd->add_option("--evm-cert", init.evm_cert,
                  "EVM signing certificate (default: the IMA one)");
  cmd->add_option("--kernel-profile", init.kernel_profile,
                  "Kernel profile (le64, le32, be64, be32[:xattrs])");
  cmd->add_option("--kernel-version", init.kernel_version,
                  "Kernel release as X.Y");
  cmd->add_option("--ima-policy", init.ima_policy, "IMA policy file");
  cmd->add_option("--rootfs-magic", init.rootfs_magic,
                  "Root file system magic, for fsmagic= rules (0xef53)");
  cmd->add_option("--rootfs-type", init.rootfs_type,
                  "Root file system type, for fsname= rules (ext4)");
  cmd->add_option("--rootfs-uuid", init.rootfs_uuid,
                  "Root file system UUID, for fsuuid= rules");
  cmd->add_flag("--ima-appraise-modsig", init.ima_appraise_modsig,
                "The kernel has CONFIG_IMA_APPRAISE_MODSIG");
  cmd->add_option("--layout", init.layout, "ab or in-place");
  cmd->add_option("--initramfs", init.initramfs,
                  "image (the default: an initramfs comes with the image or "
                  "from outside it) or none (the device boots without one "
                  "and loads its keys from the image's /etc/keys)");
  cmd->add_option("--from-bundle", init.from_bundle,
                  "Install this bundle as the factory image");
  cmd->add_flag("--allow-development", init.allow_development,
                "Accept bundles built with published development keys");
  cmd->add_flag("--release-require-eku", init.release_require_eku,
                "Bundle signers must carry extendedKeyUsage codeSigning");
  cmd->add_flag("--force", init.force, "Replace an existing device.conf");
  cmd->add_flag("--json", options.json,
                "With --from-bundle: print a JSON report on stdout");
  cmd->add_flag("--no-time-check", options.no_time_check,
                "With --from-bundle: do not check validity periods");
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
                "Do not check certificate validity periods or the manifest "
                "expiry (no trusted clock)");
  cmd->add_flag("--require-eku", options.verify.signature.require_eku,
                "The release signer must carry extendedKeyUsage "
                "codeSigning (as release-require-eku = yes in device.conf)");
  cmd->add_option("--root", options.root,
                  "Device root folder (holds etc/imabundle/device.conf): "
                  "also run the device's trust decision and rollback checks");
  cmd->add_flag("--in-place", options.verify.in_place,
                "Judge as an in-place update: every replaced file must also "
                "verify under the running keyring");
  cmd->add_flag("--allow-reinstall", options.verify.allow_reinstall,
                "Accept a version equal to the installed one");
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
  CLI::App* install = app.add_subcommand(
      "install", "Verify a bundle and install it into the inactive slot");
  AddInstall(install, options);
  CLI::App* status = app.add_subcommand("status", "Show the device's slots");
  status->add_option("--root", options.status_root, "The device's root folder")
      ->required();
  status->add_flag("--json", options.json, "Print JSON on stdout");
  CLI::App* device = app.add_subcommand("device", "Device provisioning");
  device->require_subcommand(1);
  CLI::App* init = device->add_subcommand(
      "init", "Write the device configuration and create the slots");
  AddInit(init, options);
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
    if (install->parsed()) {
      return RunInstall(options);
    }
    if (status->parsed()) {
      return RunStatus(options);
    }
    if (init->parsed()) {
      return RunInit(options);
    }
    if (inspect->parsed()) {
      return RunInspect(options);
    }
    return Run(options, extract->parsed());
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-verify: error: out of memory\n";
    return 2;
  }
}
