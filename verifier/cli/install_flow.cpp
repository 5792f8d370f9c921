#include "verifier/cli/install_flow.h"

#include <ctime>
#include <memory>

#include "verifier/boot/bootloader.h"
#include "verifier/load/material_loader.h"

namespace imab::verifier::cli {
namespace {

// The bundle, the device's release trust and required CAs, and the
// options for judging `request` on the device `trust.device`.
Status LoadForDevice(const InstallRequest& request,
                     const std::string& slots_dir, LoadedRun& inputs) {
  const DeviceMaterial& device = *inputs.trust.device;
  IMAB_ASSIGN_OR_RETURN(inputs.trust.release,
                        LoadDeviceReleaseAnchors(device.config, device.state));
  IMAB_RETURN_IF_ERROR(OpenBundle(request.bundle_path, inputs));
  VerifyOptions& options = inputs.options;
  options.signature.check_time = request.check_time;
  options.allow_reinstall = request.allow_reinstall;
  ApplyDeviceSettings(device.config, slots_dir, options);
  IMAB_ASSIGN_OR_RETURN(options.ca, LoadDeviceRequiredCas(device.config, {}));
  return OkStatus();
}

Result<VerifiedBundle> JudgeInPlace(const InstallRequest& request,
                                    InstallReport& report) {
  LoadedRun inputs;
  std::string slots_dir;
  IMAB_ASSIGN_OR_RETURN(inputs.trust.device,
                        LoadDeviceConfigAndState(request.root, slots_dir));
  DeviceMaterial& device = *inputs.trust.device;
  IMAB_ASSIGN_OR_RETURN(device.trust,
                        LoadDeviceTrust(device.config, device.state));
  device.trust.in_place = true;
  IMAB_RETURN_IF_ERROR(LoadForDevice(request, slots_dir, inputs));
  NullSink judge_only;
  IMAB_RETURN_IF_ERROR(VerifyBundle(inputs.options, judge_only, report.verify));
  return MakeError(ErrorCode::kInvalidArgument,
                   "device layout is in-place: the update would be "
                   "trusted, but only A/B installs are implemented "
                   "(layout = ab)");
}

// Under the lock: the state, the trust material and the bundle, then the
// transaction itself.
Result<VerifiedBundle> LoadAndInstall(const InstallRequest& request,
                                      const DeviceConfig& config,
                                      InstallTransaction& transaction,
                                      uint64_t now, Reporter& reporter,
                                      InstallReport& report) {
  IMAB_ASSIGN_OR_RETURN(report.previous, transaction.Prepare(now, reporter));
  IMAB_ASSIGN_OR_RETURN(DeviceTrust device_trust,
                        LoadDeviceTrust(config, report.previous));
  device_trust.in_place = device_trust.in_place || request.in_place;
  LoadedRun inputs;
  inputs.trust.device =
      DeviceMaterial{config, report.previous, std::move(device_trust)};
  IMAB_RETURN_IF_ERROR(LoadForDevice(request, transaction.slots_dir(), inputs));
  inputs.options.path_reserve = transaction.path_reserve();
  return transaction.Install(inputs.options, report.previous,
                             request.bundle_path, now, reporter, report);
}

}  // namespace

Result<VerifiedBundle> InstallFromFile(const InstallRequest& request,
                                       Reporter& reporter,
                                       InstallReport& report) {
  IMAB_ASSIGN_OR_RETURN(DeviceConfig config, LoadDeviceConfig(request.root));
  if (config.layout == SlotLayout::kInPlace) {
    return JudgeInPlace(request, report);
  }
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Bootloader> bootloader,
                        OpenBootloader(config));
  IMAB_ASSIGN_OR_RETURN(InstallTransaction transaction,
                        InstallTransaction::Begin(config, bootloader.get()));
  if (request.factory_image) {
    transaction.set_factory_image();
  }
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  Result<VerifiedBundle> installed =
      LoadAndInstall(request, config, transaction, now, reporter, report);
  IMAB_RETURN_IF_ERROR(transaction.Finish(
      request.bundle_path,
      installed.has_value() ? OkStatus() : Status(installed.error()), now,
      reporter));
  return installed;
}

}  // namespace imab::verifier::cli
