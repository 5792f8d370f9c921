// One scenario of the kernel matrix: an image tree, the keys and policy of
// a device, how the release engineer builds the bundle, and what gets
// booted. Scenarios start from a correct update that rotates nothing and
// change one thing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tests/testutil/pki.h"

namespace imab::testing {

// Keys every scenario of a process shares: the committed kernel CAs and
// the key the device runs today (issued by CA a, loaded from its
// initramfs).
struct MatrixKeys {
  TestIdentity ca_a;
  TestIdentity ca_b;
  TestIdentity current;
};

struct Plan {
  std::string kernel;  // "6.1" or "6.12"
  std::string dir;     // the scenario's scratch folder
  std::string tree;    // the rootfs imab-build reads (the base tree)
  const MatrixKeys* keys = nullptr;
  // The key imab-build signs every file with (default: keys->current).
  TestIdentity signer;
  // imab-build: pass --ima-key/--ima-cert (false: files stay as they are).
  bool sign = true;
  // imab-build: pass --kernel-ca (the CA of the booted kernel).
  bool builder_knows_kernel_ca = true;
  std::vector<std::string> build_flags;
  std::vector<std::string> device_flags;
  std::optional<std::string> policy;  // nullopt: the built-in appraise_tcb
  // Each boot loads these initramfs files of the image, in order; several
  // boots stand for several kernels a bootloader could start.
  std::vector<std::vector<std::string>> boots = {{"boot/initrd.img"}};
  std::string boot_ca = "a";  // the CA compiled into the booted kernel
  std::vector<std::string> exec;
};

// Writes a key and certificate issued by `issuer` into plan.dir.
TestIdentity IssueKey(const Plan& plan, const std::string& name,
                      const TestIdentity& issuer, CertOptions options = {});

// The base image: real programs and libraries copied from this host
// (glibc, its ld.so, coreutils, dash), sbin/init a #!/bin/sh script,
// etc files, and boot/initrd.img (gzip newc) holding the device's current
// certificate as etc/keys/x509_evm.der and x509_ima.der.
void MakeBaseTree(const std::string& tree, const std::string& cert_der);

// TREE/boot/initrd.img: a gzip newc initramfs holding CERT_DER as
// etc/keys/x509_evm.der and x509_ima.der (scratch space: TREE/..).
void WriteDeviceInitramfs(const std::string& tree, const std::string& cert_der);

// A gzip newc initramfs holding `files` (path -> content) and `symlinks`
// (path -> target).
std::string MakeInitramfs(
    const std::string& scratch,
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<std::pair<std::string, std::string>>& symlinks = {});

// The exec probes every scenario runs: init and programs using libc.
std::vector<std::string> DefaultExecProbes();

}  // namespace imab::testing
