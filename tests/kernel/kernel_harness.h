// The real kernel as a test oracle: builds the small IMA/EVM test kernels
// (build-kernel.sh), boots an extracted image under QEMU (boot-image.sh)
// and returns what the kernel let the image do, as data.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace imab::testing {

// Why the harness cannot run here (missing tool, IMAB_SKIP_KERNEL=1), or
// "" when it can.
std::string KernelHarnessUnavailable();

// The committed test CA NAME ("a", "b") of tests/kernel/ca: PEM and key.
std::string TestKernelCaPem(const std::string& name);
std::string TestKernelCaKey(const std::string& name);

// bzImage of linux-source-VERSION ("6.1", "6.12") with CA_PEM compiled in,
// built on first use and cached outside the clone. Empty on failure, with
// the build's message in *error.
std::string TestKernelImage(const std::string& version,
                            const std::string& ca_pem, std::string* error);

// One answer of the kernel.
struct Probe {
  enum class Kind { kMmap, kExec } kind = Kind::kMmap;
  std::string path;  // inside the image, "/bin/true"
  std::string step;  // mmap: "open", "mmap" or "ok"
  int error = 0;     // errno of open/mmap or of execve
  int status = -1;   // exec: exit status, -1 when killed
  int signal = 0;    // exec: terminating signal
  bool timed_out = false;
  std::string output;  // exec: first line of its output
  std::string cause;   // audit cause of the appraisal failure of `path`
  // The kernel let it happen: mmap and open succeeded; exec ran without
  // EACCES, a fatal signal, or ld.so's "error while loading shared
  // libraries" (a program still running at the deadline ran).
  bool Passed() const;
  std::string Describe() const;
};

// One IMA/EVM audit record (type 1800, integrity data).
struct AuditRecord {
  std::string op;     // appraise_data, appraise_metadata, ...
  std::string cause;  // IMA-signature-required, invalid-signature, ...
  std::string path;   // inside the image when under the mount point
};

struct BootRequest {
  std::string kernel;                  // bzImage
  std::string tree;                    // extracted image
  std::string work;                    // scratch folder
  std::vector<std::string> initramfs;  // image paths the bootloader loads
  std::optional<std::string> policy;   // nullopt: ima_policy=appraise_tcb
  std::vector<std::string> exec;       // "PATH [ARG...]"
};

struct BootResult {
  std::vector<Probe> probes;
  std::vector<AuditRecord> audits;
  std::vector<std::string> loaded_certs;  // "Loaded X.509 cert '...'"
  int refused_certs = 0;                  // "Problem loading X.509 certificate"
  bool policy_loaded = false;
  bool policy_refused = false;
  std::string console;

  bool AllPassed() const;
  // Image paths of the probes that did not pass.
  std::vector<std::string> FailedPaths() const;
  // One line per failed probe (for test messages).
  std::string Summary() const;
};

// Boots and parses. nullopt when the boot itself failed (*error says why).
std::optional<BootResult> BootImage(const BootRequest& request,
                                    std::string* error);

// Parses a console log of boot-image.sh (exposed for unit tests).
BootResult ParseConsole(const std::string& console);

}  // namespace imab::testing
