// How the device commands show their results: `status` as text or JSON,
// and the JSON of `install` (the verification report plus the states).
#pragma once

#include <optional>
#include <string>

#include "common/read/result.h"
#include "verifier/device/device_status.h"
#include "verifier/device/install.h"

namespace imab::verifier {

// Several lines, one fact each ("active slot: b", "slot a: version 1.2.3
// for board, installed at ..."), ending with "consistent: yes" or the
// problems found.
std::string RenderStatusText(const DeviceStatus& status);

// One JSON object: {"root", "compatible", "active_slot", "consistent",
// "problems": [...], "pending_cleanup": [...], "install_running",
// "slots": [{"name", "active", "present", "version", "compatible",
// "installed_at", "key_generation", "trust_root_version",
// "bundle_sha256", "confirmed_at"}, "confirmed", "boot": {"bootable",
// "confirmed", "attempts_left"}|null}], "keys": [{"keyring", "path", "keyid",
// "problem"}], "key_generation_floor", "trust_root_version", "last_result":
// {...}|null, "boot": {"bootloader", "booted_slot", "primary_slot", "fallback":
// {"from", "to", "time"}|null, "last_fallback": ...|null}}.
std::string RenderStatusJson(const DeviceStatus& status);

// RenderReportJson's object with "previous" and, on success, "installed"
// device states added.
std::string RenderInstallJson(const InstallReport& report,
                              const std::optional<Error>& failure);

}  // namespace imab::verifier
