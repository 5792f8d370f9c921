#include "verifier/device/device_status.h"

#include "common/read/keyid.h"
#include "common/read/x509_util.h"
#include "verifier/device/booted_slot.h"
#include "verifier/device/device_config.h"
#include "verifier/device/install_lock.h"
#include "verifier/device/small_file.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/slots/open_slots.h"
#include "verifier/slots/partition_lookup.h"

namespace imab::verifier {
namespace {

// Upper bound on the last-result file (four short lines).
constexpr size_t kMaxLastResultBytes = 64 * 1024;

KeyInUse DescribeKey(const DeviceConfig& config, const std::string& keyring,
                     const std::string& path) {
  KeyInUse key{keyring, path, "", ""};
  Result<std::string> real = DevicePath(config, path);
  Result<Ptr<X509>> cert = real.has_value() ? LoadCertificate(*real)
                                            : Result<Ptr<X509>>(real.error());
  if (!cert.has_value()) {
    key.problem = cert.error().message;
    return key;
  }
  Result<uint32_t> keyid = KeyIdFromCertificate(cert->get());
  if (!keyid.has_value()) {
    key.problem = keyid.error().message;
    return key;
  }
  key.keyid = KeyIdHex(*keyid);
  return key;
}

// A key the active slot's state recorded (the installed image's boot keys).
KeyInUse RecordedKey(const std::string& keyring, const std::string& der) {
  KeyInUse key{keyring, "(loaded by the active image's initramfs)", "", ""};
  Result<Ptr<X509>> cert = ParseCertificateDer(der, "recorded certificate");
  Result<uint32_t> keyid = cert.has_value() ? KeyIdFromCertificate(cert->get())
                                            : Result<uint32_t>(cert.error());
  if (!keyid.has_value()) {
    key.problem = keyid.error().message;
    return key;
  }
  key.keyid = KeyIdHex(*keyid);
  return key;
}

void ReadSlots(const SlotBackend& slots, DeviceStatus& status) {
  status.problems = slots.CheckConsistency();
  status.pending_cleanup = slots.PendingCleanUp();
  Result<SlotId> active = slots.ActiveSlot();
  if (active.has_value()) {
    status.active_slot = SlotName(*active);
  }
  for (SlotId slot : {SlotId::kA, SlotId::kB}) {
    SlotStatus one;
    one.name = SlotName(slot);
    one.active = active.has_value() && *active == slot;
    Result<std::optional<DeviceState>> state = slots.ReadState(slot);
    if (state.has_value()) {
      one.state = std::move(*state);
    }
    if (one.active && one.state.has_value()) {
      status.key_generation_floor = one.state->key_generation;
      status.trust_root_version = one.state->trust_root_version;
    }
    status.slots.push_back(std::move(one));
  }
}

// The booted slot, the boot loader's view of each slot and the fallbacks;
// trouble reading them is a problem listed, not a failure.
void ReadBoot(const DeviceConfig& config, const SlotBackend& slots,
              DeviceStatus& status) {
  BootReport& boot = status.boot;
  boot.bootloader = BootloaderName(config.boot.bootloader);
  auto note = [&](const Error& error) {
    status.problems.push_back(error.message);
  };
  Result<std::optional<SlotId>> booted = ReadBootedSlot(config);
  if (!booted.has_value()) {
    note(booted.error());
  } else if (booted->has_value()) {
    boot.booted_slot = SlotName(**booted);
  }
  Result<std::optional<Fallback>> last = ReadLastFallback(slots.StateDir());
  if (last.has_value()) {
    boot.last_fallback = *last;
  } else {
    note(last.error());
  }
  Result<std::unique_ptr<Bootloader>> loader = OpenBootloader(config);
  if (!loader.has_value() || *loader == nullptr) {
    if (!loader.has_value()) {
      note(loader.error());
    }
    return;
  }
  Result<SlotId> primary = (*loader)->Primary();
  if (!primary.has_value()) {
    return note(primary.error());
  }
  boot.primary_slot = SlotName(*primary);
  for (SlotStatus& slot : status.slots) {
    Result<BootSlotStatus> one =
        (*loader)->SlotStatus(slot.name == "a" ? SlotId::kA : SlotId::kB);
    if (one.has_value()) {
      slot.boot = *one;
    } else {
      note(one.error());
    }
  }
  if (booted.has_value()) {
    Result<std::optional<Fallback>> pending =
        DetectFallback(slots, loader->get(), *booted);
    if (pending.has_value()) {
      boot.fallback = *pending;
    }
  }
}

// Block slots: the partition each slot names and where it was found.
void DescribeBlockDevices(const DeviceConfig& config, DeviceStatus& status) {
  if (config.boot.slots != SlotKind::kBlock) {
    return;
  }
  for (SlotStatus& slot : status.slots) {
    const std::string& spelling =
        slot.name == "a" ? config.boot.slot_a : config.boot.slot_b;
    Result<Partition> found = LookUpPartition(spelling);
    slot.device =
        found.has_value()
            ? spelling + " -> " + found->path
            : spelling + " (not found: " + found.error().message + ")";
  }
}

}  // namespace

Result<DeviceStatus> ReadDeviceStatus(const std::string& root) {
  IMAB_ASSIGN_OR_RETURN(DeviceConfig config, LoadDeviceConfig(root));
  DeviceStatus status;
  status.root = config.root;
  status.compatible = config.compatible;
  for (const std::string& path : config.ima_certs) {
    status.keys.push_back(DescribeKey(config, "ima", path));
  }
  for (const std::string& path : config.evm_certs) {
    status.keys.push_back(DescribeKey(config, "evm", path));
  }
  IMAB_ASSIGN_OR_RETURN(auto slots, OpenSlots(config, nullptr));
  const std::string slots_dir = slots->StateDir();
  ReadSlots(*slots, status);
  ReadBoot(config, *slots, status);
  DescribeBlockDevices(config, status);
  // Once an image was installed, the keys are those its boot loads.
  for (const SlotStatus& slot : status.slots) {
    if (slot.active && slot.state.has_value() &&
        !(slot.state->ima_certs.empty() && slot.state->evm_certs.empty())) {
      status.keys.clear();
      auto add = [&](const char* ring, const std::vector<std::string>& ders) {
        for (const std::string& der : ders) {
          status.keys.push_back(RecordedKey(ring, der));
        }
      };
      add("ima", slot.state->ima_certs);
      add("evm", slot.state->evm_certs);
    }
  }
  status.install_running = InstallLock::IsHeld(slots_dir + "/" + kLockFileName);
  const std::string last_path = slots_dir + "/" + kLastResultFileName;
  Result<std::optional<std::string>> last =
      ReadSmallFile(last_path, kMaxLastResultBytes);
  if (!last.has_value()) {
    status.problems.push_back(last.error().message);
  } else if (last->has_value()) {
    Result<LastResult> parsed = ParseLastResult(**last, last_path);
    if (parsed.has_value()) {
      status.last_result = std::move(*parsed);
    } else {
      status.problems.push_back(parsed.error().message);
    }
  }
  return status;
}

}  // namespace imab::verifier
