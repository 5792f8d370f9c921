#include "verifier/cli/device_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "verifier/cli/output.h"
#include "verifier/cli/root_option.h"
#include "verifier/device/device_report.h"
#include "verifier/device/device_status.h"
#include "verifier/load/material_loader.h"

namespace imab::verifier::cli {

DeviceCommands::DeviceCommands(CLI::App& app) {
  AddInstall(app);
  status_command_ = app.add_subcommand("status", "Show the device's slots");
  AddRootOption(status_command_, status_root_);
  status_command_->add_flag("--json", json_, "Print JSON on stdout");
  AddInit(app);
}

void DeviceCommands::AddInstall(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "install", "Verify a bundle and install it into the inactive slot");
  install_command_ = cmd;
  cmd->add_option("bundle", install_.bundle_path, "Bundle file (.imab)")
      ->required();
  AddRootOption(cmd, install_.root);
  cmd->add_flag("--allow-reinstall", install_.allow_reinstall,
                "Accept the version already installed");
  cmd->add_flag("--in-place", install_.in_place,
                "Judge the bundle as an in-place update");
  cmd->add_flag("--json", json_, "Print a JSON report on stdout");
  cmd->add_flag("--no-time-check", no_time_check_,
                "Do not check certificate validity periods");
}

void DeviceCommands::AddInit(CLI::App& app) {
  CLI::App* device = app.add_subcommand("device", "Device provisioning");
  device->require_subcommand(1);
  CLI::App* cmd = device->add_subcommand(
      "init", "Write the device configuration and create the slots");
  init_command_ = cmd;
  AddRootOption(cmd, init_.root);
  cmd->add_option("--compatible", init_.compatible, "Device class")->required();
  CLI::Option* ca = cmd->add_option("--release-ca", init_.release_ca,
                                    "Trusted release CA certificates (PEM)");
  CLI::Option* root =
      cmd->add_option("--trust-root", init_.trust_root,
                      "Signed release trust root (instead of --release-ca)");
  ca->excludes(root);
  root->excludes(ca);
  AddInitInputs(cmd);
  cmd->add_option("--from-bundle", init_.from_bundle,
                  "Install this bundle as the factory image");
  cmd->add_flag("--allow-development", init_.allow_development,
                "Accept bundles built with published development keys");
  cmd->add_flag("--release-require-eku", init_.release_require_eku,
                "Bundle signers must carry extendedKeyUsage codeSigning");
  cmd->add_flag("--force", init_.force, "Replace an existing device.conf");
  cmd->add_option("--set", init_.boot_settings,
                  "KEY=VALUE of device.conf's Slots or Bootloader section "
                  "(slots=block, slot-a=..., bootloader=...; repeatable)");
  AddInitBoot(cmd);
  cmd->add_flag("--json", json_,
                "With --from-bundle: print a JSON report on stdout");
  cmd->add_flag("--no-time-check", no_time_check_,
                "With --from-bundle: do not check validity periods");
}

// The boot loader and the hooks (device.conf.md, "Boot confirmation").
void DeviceCommands::AddInitBoot(CLI::App* cmd) {
  cmd->add_option("--bootloader", init_.bootloader,
                  "grub, uboot, custom or none");
  cmd->add_option("--grubenv", init_.grubenv, "grub: the grubenv file");
  cmd->add_option("--fw-env-config", init_.fw_env_config,
                  "uboot: the fw_env.config file");
  cmd->add_option("--boot-attempts", init_.boot_attempts,
                  "uboot: boots a new slot gets (default 3)");
  cmd->add_option("--bootloader-script", init_.bootloader_script,
                  "custom: the boot loader script");
  cmd->add_option("--hook-pre-install", init_.hook_pre_install,
                  "Script run before an install writes; non-zero refuses");
  cmd->add_option("--hook-post-install", init_.hook_post_install,
                  "Script run after every install attempt");
  cmd->add_option("--hook-on-fallback", init_.hook_on_fallback,
                  "Script run when a fallback is first noticed");
}

// The device's kernel, keys, policy and root file system.
void DeviceCommands::AddInitInputs(CLI::App* cmd) {
  cmd->add_option("--kernel-ca", init_.kernel_ca,
                  "CA built into the device kernel (PEM)")
      ->required();
  cmd->add_option("--ima-cert", init_.ima_cert,
                  "IMA signing certificate (PEM or DER)")
      ->required();
  cmd->add_option("--evm-cert", init_.evm_cert,
                  "EVM signing certificate (default: the IMA one)");
  cmd->add_option("--kernel-profile", init_.kernel_profile,
                  "Kernel profile (le64, le32, be64, be32[:xattrs])");
  cmd->add_option("--kernel-version", init_.kernel_version,
                  "Kernel release as X.Y");
  cmd->add_option("--ima-policy", init_.ima_policy, "IMA policy file");
  cmd->add_option("--rootfs-magic", init_.rootfs_magic,
                  "Root file system magic, for fsmagic= rules (0xef53)");
  cmd->add_option("--rootfs-type", init_.rootfs_type,
                  "Root file system type, for fsname= rules (ext4)");
  cmd->add_option("--rootfs-uuid", init_.rootfs_uuid,
                  "Root file system UUID, for fsuuid= rules");
  cmd->add_flag("--ima-appraise-modsig", init_.ima_appraise_modsig,
                "The kernel has CONFIG_IMA_APPRAISE_MODSIG");
  cmd->add_option("--layout", init_.layout, "ab or in-place");
  cmd->add_option("--initramfs", init_.initramfs,
                  "image (the default: an initramfs comes with the image or "
                  "from outside it) or none (the device boots without one "
                  "and loads its keys from the image's /etc/keys)");
}

bool DeviceCommands::parsed() const {
  return install_command_->parsed() || status_command_->parsed() ||
         init_command_->parsed();
}

int DeviceCommands::Run() {
  if (install_command_->parsed()) {
    return RunInstall();
  }
  return status_command_->parsed() ? RunStatus() : RunInit();
}

int DeviceCommands::ReportInstall(
    const InstallReport& report,
    const Result<VerifiedBundle>& installed) const {
  std::optional<Error> failure;
  if (!installed.has_value()) {
    failure = installed.error();
  }
  if (json_) {
    std::cout << RenderInstallJson(report, failure);
  }
  if (failure.has_value()) {
    return PrintFailure(*failure);
  }
  PrintTrustNotes(*installed);
  if (!json_) {
    std::cout << "installed " << installed->header.image_version << " for "
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

int DeviceCommands::RunInstall() {
  install_.check_time = !no_time_check_;
  StderrReporter reporter;
  InstallReport report;
  Result<VerifiedBundle> installed =
      InstallFromFile(install_, reporter, report);
  return ReportInstall(report, installed);
}

int DeviceCommands::RunStatus() {
  auto status = ReadDeviceStatus(status_root_);
  if (!status.has_value()) {
    return PrintError(status.error());
  }
  std::cout << (json_ ? RenderStatusJson(*status) : RenderStatusText(*status));
  return status->consistent() ? 0 : 2;
}

// `device init` prints "error: ..." for any failure, a verdict on the
// factory image included, unless that image's report can be shown.
int DeviceCommands::RunInit() {
  StderrReporter reporter;
  Result<InitInputs> inputs = LoadInitInputs(init_);
  if (!inputs.has_value()) {
    return PrintErrorWithCode(inputs.error());
  }
  Result<std::string> root = InitDevice(init_, *inputs, reporter);
  if (!root.has_value()) {
    return PrintErrorWithCode(root.error());
  }
  if (!init_.from_bundle.empty()) {
    InstallRequest factory;
    factory.root = *root;
    factory.bundle_path = init_.from_bundle;
    factory.check_time = !no_time_check_;
    factory.factory_image = true;
    InstallReport report;
    Result<VerifiedBundle> installed =
        InstallFromFile(factory, reporter, report);
    if (report.verify.facts.has_value()) {
      return ReportInstall(report, installed);
    }
    if (!installed.has_value()) {
      return PrintErrorWithCode(installed.error());
    }
  }
  std::cout << "initialised " << init_.root << " for " << init_.compatible
            << "\n";
  return 0;
}

}  // namespace imab::verifier::cli
