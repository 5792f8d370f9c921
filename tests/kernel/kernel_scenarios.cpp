#include "tests/kernel/kernel_scenarios.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/kernel/kernel_harness.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {
namespace fs = std::filesystem;

const char* kLibc = "lib/x86_64-linux-gnu/libc.so.6";
const char* kLdso = "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";

// The release engineer rotates to a new key issued by CA a.
void Rotate(Plan& plan, CertOptions options = {}) {
  plan.signer = IssueKey(plan, "next", plan.keys->ca_a, options);
}

void Exclude(Plan& plan, const std::string& glob) {
  plan.build_flags.push_back("--ima-exclude " + ShellQuote(glob));
}

void Run(const std::string& command) {
  CommandResult r = RunShell(command);
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.err;
}

std::string InTree(const Plan& plan, const std::string& path) {
  return ShellQuote(plan.tree + "/" + path);
}

void SetXattr(const Plan& plan, const std::string& path,
              const std::string& name, const std::string& value) {
  Run("setfattr -n " + name + " -v " + ShellQuote(value) + " " +
      InTree(plan, path));
}

// How evmctl writes security.ima: a signature or a digest.
enum class EvmctlIma { kSignature, kDigest };

// Every regular file given security.ima by evmctl (ima_sign with `key`, or
// ima_hash), then a portable EVM signature by `key` over it; imab-build
// keeps them.
void EvmctlSignAll(Plan& plan, const TestIdentity& key,
                   EvmctlIma ima = EvmctlIma::kSignature) {
  const std::string ima_command =
      ima == EvmctlIma::kSignature
          ? "evmctl ima_sign -a sha256 --key " + ShellQuote(key.key_path)
          : std::string("evmctl ima_hash -a sha256");
  Run("find " + ShellQuote(plan.tree) + " -type f | while read -r f; do " +
      ima_command +
      " \"$f\" >/dev/null && evmctl sign --portable -a sha256 "
      "--key " +
      ShellQuote(key.key_path) + " \"$f\" >/dev/null || exit 1; done");
  plan.sign = false;
  plan.build_flags.push_back("--keep-signatures --ima-cert " +
                             ShellQuote(DerCopy(key)));
}

// A second initramfs beside boot/initrd.img (another kernel's), holding the
// device's current certificate; the builder rewrites both.
void SecondInitramfs(Plan& plan) {
  fs::copy_file(plan.tree + "/boot/initrd.img",
                plan.tree + "/boot/initrd.img-old");
  plan.boots = {{"boot/initrd.img"}, {"boot/initrd.img-old"}};
}

// The image ships the test kernel built with CA b (boot/vmlinuz-...), and
// that kernel is the one booted.
void ShipKernelWithCaB(Plan& plan) {
  std::string error;
  std::string image =
      TestKernelImage(plan.kernel, TestKernelCaPem("b"), &error);
  ASSERT_FALSE(image.empty()) << error;
  fs::copy_file(image, plan.tree + "/boot/vmlinuz-" + plan.kernel + "-imab");
  plan.boot_ca = "b";
}

// The base tree replaced by one `make` writes (a usr-merged image), given
// the device's initramfs and, where it has none, an init (dash); the exec
// probes are init and the usual programs the image has.
void ReplaceTree(Plan& plan, const std::string& make) {
  fs::remove_all(plan.tree);
  Run(make);
  const std::string init = plan.tree + "/usr/sbin/init";
  if (!fs::exists(init)) {
    fs::copy_file("/bin/dash", init);
  }
  WriteDeviceInitramfs(plan.tree, DerCopy(plan.keys->current));
  plan.exec = {"/usr/sbin/init -c true"};
  for (const char* program :
       {"/usr/bin/true", "/usr/bin/ls /", "/usr/bin/cat /etc/hostname",
        "/usr/bin/env", "/usr/bin/echo probe", "/usr/bin/sh -c true",
        "/usr/bin/uname -s", "/usr/bin/suid-true"}) {
    std::string path(program);
    path = path.substr(0, path.find(' '));
    if (fs::exists(plan.tree + path)) {
      plan.exec.push_back(program);
    }
  }
}

// A device that boots no initramfs (device.conf initramfs = none): the
// image has none, and its root file system carries `cert` (if any) as
// /etc/keys/x509_ima.der and x509_evm.der, which the kernel then loads.
void WithoutInitramfs(Plan& plan, const TestIdentity* cert) {
  fs::remove(plan.tree + "/boot/initrd.img");
  plan.boots = {{}};
  plan.device_flags.push_back("--initramfs none");
  if (cert != nullptr) {
    fs::create_directories(plan.tree + "/etc/keys");
    for (const char* k : {"x509_ima.der", "x509_evm.der"}) {
      fs::copy_file(DerCopy(*cert), plan.tree + "/etc/keys/" + k);
    }
  }
}

std::vector<KernelScenario> MakeScenarios() {
  std::vector<KernelScenario> s;
  // --- no rotation -------------------------------------------------------
  s.push_back({"signed_by_current_key", true, true, [](Plan&) {}});
  // Unsigned: the builder still puts the key into the initramfs.
  s.push_back(
      {"unsigned_image", false, false, [](Plan& p) { Exclude(p, "**"); }});
  s.push_back(
      {"unsigned_libc", false, false, [](Plan& p) { Exclude(p, kLibc); }});
  s.push_back(
      {"unsigned_ldso", false, false, [](Plan& p) { Exclude(p, kLdso); }});
  s.push_back({"unsigned_init_script", false, false,
               [](Plan& p) { Exclude(p, "sbin/init"); }});
  s.push_back({"unsigned_data_file_appraise_tcb", false, false,
               [](Plan& p) { Exclude(p, "etc/hostname"); }});
  // --- key rotation --------------------------------------------------------
  s.push_back({"rotation_rsa3072", true, true,
               [](Plan& p) { Rotate(p, {.key_type = KeyType::kRsa3072}); }});
  s.push_back({"rotation_initramfs_symlink", true, true, [](Plan& p) {
                 fs::rename(p.tree + "/boot/initrd.img",
                            p.tree + "/boot/initrd.img-6.x-imab");
                 fs::create_symlink("initrd.img-6.x-imab",
                                    p.tree + "/boot/initrd.img");
                 Rotate(p);
               }});
  s.push_back({"rotation_two_initramfs", true, true, [](Plan& p) {
                 SecondInitramfs(p);
                 Rotate(p);
               }});
  s.push_back({"rotation_cert_from_other_ca", false, false, [](Plan& p) {
                 p.signer = IssueKey(p, "next", p.keys->ca_b);
                 p.builder_knows_kernel_ca = false;
               }});
  s.push_back({"rotation_evm_key_from_other_ca", false, false, [](Plan& p) {
                 Rotate(p);
                 TestIdentity evm = IssueKey(p, "evm", p.keys->ca_b);
                 p.build_flags.push_back(
                     "--evm-key " + ShellQuote(evm.key_path) + " --evm-cert " +
                     ShellQuote(DerCopy(evm)));
                 p.builder_knows_kernel_ca = false;
               }});
  // --- devices that boot no initramfs: keys from the root file system -------
  s.push_back({"no_initramfs_rotation_keys_in_rootfs", true, true, [](Plan& p) {
                 Rotate(p);
                 WithoutInitramfs(p, &p.signer);
               }});
  s.push_back({"no_initramfs_keys_symlinked_absolute", true, true, [](Plan& p) {
                 WithoutInitramfs(p, &p.keys->current);
                 fs::create_directories(p.tree + "/usr/share/keys");
                 for (const char* k : {"x509_ima.der", "x509_evm.der"}) {
                   fs::rename(p.tree + "/etc/keys/" + k,
                              p.tree + "/usr/share/keys/" + k);
                   fs::create_symlink(std::string("/usr/share/keys/") + k,
                                      p.tree + "/etc/keys/" + k);
                 }
               }});
  s.push_back({"no_initramfs_image_without_keys", false, false,
               [](Plan& p) { WithoutInitramfs(p, nullptr); }});
  s.push_back(
      {"no_initramfs_rotation_keys_left_old", false, false, [](Plan& p) {
         Rotate(p);
         WithoutInitramfs(p, &p.keys->current);
       }});
  // --- certificate rules ---------------------------------------------------
  s.push_back({"cert_rsa2048", true, true,
               [](Plan& p) { Rotate(p, {.key_type = KeyType::kRsa2048}); }});
  s.push_back({"cert_rsa4096", true, true,
               [](Plan& p) { Rotate(p, {.key_type = KeyType::kRsa4096}); }});
  s.push_back({"cert_p384", true, true,
               [](Plan& p) { Rotate(p, {.key_type = KeyType::kEcP384}); }});
  s.push_back({"cert_no_key_usage", true, false,
               [](Plan& p) { Rotate(p, {.omit_key_usage = true}); }});
  s.push_back(
      {"cert_key_usage_without_digital_signature", true, false,
       [](Plan& p) { Rotate(p, {.key_usage = "critical,keyEncipherment"}); }});
  s.push_back(
      {"cert_is_ca", true, false, [](Plan& p) {
         Rotate(p, {.is_ca = true, .key_usage = "critical,digitalSignature"});
       }});
  s.push_back({"cert_key_cert_sign", true, false, [](Plan& p) {
                 Rotate(p,
                        {.key_usage = "critical,digitalSignature,keyCertSign"});
               }});
  s.push_back({"cert_not_yet_valid", true, true, [](Plan& p) {
                 Rotate(p, {.not_before_offset = 30L * 24 * 3600,
                            .not_after_offset = 60L * 24 * 3600});
               }});
  s.push_back(
      {"cert_expired", true, true, [](Plan& p) {
         Rotate(p, {.not_before_offset = -7200, .not_after_offset = -3600});
       }});
  // Without an AKID the kernel finds the CA by the issuer name
  // (x509_note_issuer sets auth_ids[2]; find_asymmetric_key looks up "dn:").
  s.push_back({"cert_no_authority_key_id", true, true,
               [](Plan& p) { Rotate(p, {.authority_key_id = "none"}); }});
  s.push_back(
      {"cert_authority_key_id_issuer_and_serial", true, true,
       [](Plan& p) { Rotate(p, {.authority_key_id = "issuer:always"}); }});
  // The kernel names the key by the SKID, not by a hash of the key (a
  // certificate without SKID the builder refuses: no signature could name
  // its key; kernel-rules.md has_skid).
  s.push_back({"cert_subject_key_id_not_a_key_hash", true, true, [](Plan& p) {
                 Rotate(p, {.subject_key_id = "0123456789abcdef0011223344"});
               }});
  // --- hash algorithms -----------------------------------------------------
  s.push_back({"hash_sha384", true, true,
               [](Plan& p) { p.build_flags.push_back("--hash sha384"); }});
  s.push_back({"hash_sha512", true, true,
               [](Plan& p) { p.build_flags.push_back("--hash sha512"); }});
  // --- EVM xattr sets, owner and mode --------------------------------------
  s.push_back({"evm_security_capability", true, true, [](Plan& p) {
                 // cap_net_raw+ep (VFS_CAP_REVISION_2).
                 SetXattr(p, "bin/echo", "security.capability",
                          "0x0100000200200000000000000000000000000000");
               }});
  s.push_back({"evm_selinux_label_without_selinux", true, true, [](Plan& p) {
                 SetXattr(p, kLibc, "security.selinux",
                          "system_u:object_r:lib_t:s0");
               }});
  s.push_back({"evm_apparmor_label_without_apparmor", true, true, [](Plan& p) {
                 SetXattr(p, "bin/cat", "security.apparmor", "unconfined");
               }});
  s.push_back({"owner_and_mode_of_a_program", true, true, [](Plan& p) {
                 Run("chown 1000:1000 " + InTree(p, "bin/uname") +
                     " && chmod 0750 " + InTree(p, "bin/uname"));
               }});
  s.push_back({"evm_ignores_user_xattrs", true, true, [](Plan& p) {
                 SetXattr(p, "etc/hostname", "user.comment", "not covered");
                 SetXattr(p, kLibc, "user.origin", "debian");
               }});
  s.push_back({"init_script_through_env", true, true, [](Plan& p) {
                 WriteFile(p.tree + "/sbin/init",
                           "#!/usr/bin/env sh\necho init ran\n");
               }});
  s.push_back({"unsigned_library_of_one_program", false, false, [](Plan& p) {
                 Exclude(p, "lib/x86_64-linux-gnu/libpcre2-8.so.0");
               }});
  s.push_back({"policy_bprm_only_unsigned_script_interpreter", false, false,
               [](Plan& p) {
                 p.policy = "appraise func=BPRM_CHECK\n";
                 Exclude(p, "bin/sh");
               }});
  // --- libc and ld.so as links ---------------------------------------------
  s.push_back({"libc_symlink_to_versioned_file", true, true, [](Plan& p) {
                 fs::rename(p.tree + "/" + kLibc,
                            p.tree + "/lib/x86_64-linux-gnu/libc-2.36.so");
                 fs::create_symlink("libc-2.36.so", p.tree + "/" + kLibc);
               }});
  s.push_back({"libc_symlink_to_unsigned_file", false, false, [](Plan& p) {
                 fs::rename(p.tree + "/" + kLibc,
                            p.tree + "/lib/x86_64-linux-gnu/libc-2.36.so");
                 fs::create_symlink("libc-2.36.so", p.tree + "/" + kLibc);
                 Exclude(p, "lib/x86_64-linux-gnu/libc-2.36.so");
               }});
  s.push_back({"ldso_hardlink", true, true, [](Plan& p) {
                 fs::remove(p.tree + "/lib64/ld-linux-x86-64.so.2");
                 fs::create_hard_link(p.tree + "/" + kLdso,
                                      p.tree + "/lib64/ld-linux-x86-64.so.2");
               }});
  // --- IMA policies --------------------------------------------------------
  s.push_back({"policy_bprm_only_unsigned_libc", true, true, [](Plan& p) {
                 p.policy = "appraise func=BPRM_CHECK\n";
                 Exclude(p, kLibc);
               }});
  s.push_back({"policy_bprm_only_unsigned_program", false, false, [](Plan& p) {
                 p.policy = "appraise func=BPRM_CHECK\n";
                 Exclude(p, "bin/echo");
               }});
  s.push_back({"policy_mmap_only_unsigned_libc", false, false, [](Plan& p) {
                 p.policy = "appraise func=MMAP_CHECK\n";
                 Exclude(p, kLibc);
               }});
  s.push_back(
      {"policy_file_check_exec_unsigned_program", false, false, [](Plan& p) {
         p.policy = "appraise func=FILE_CHECK mask=MAY_EXEC\n";
         Exclude(p, "bin/true");
       }});
  s.push_back(
      {"policy_fowner_root_unsigned_user_file", true, true, [](Plan& p) {
         p.policy = "appraise fowner=0\n";
         Run("chown 1000:1000 " + InTree(p, "etc/os-release"));
         Exclude(p, "etc/os-release");
       }});
  s.push_back({"policy_dont_appraise_ext4_unsigned", true, true, [](Plan& p) {
                 p.policy = "dont_appraise fsmagic=0xef53\nappraise fowner=0\n";
                 Exclude(p, "**");
               }});
  s.push_back(
      {"policy_appraise_algos_refuses_sha512", false, false, [](Plan& p) {
         p.policy = "appraise func=BPRM_CHECK appraise_algos=sha256\n";
         p.build_flags.push_back("--hash sha512");
       }});
  s.push_back({"policy_appraise_algos_allows_sha512", true, true, [](Plan& p) {
                 p.policy =
                     "appraise func=BPRM_CHECK appraise_algos=sha256,sha512\n";
                 p.build_flags.push_back("--hash sha512");
               }});
  s.push_back({"policy_measure_only_unsigned", true, true, [](Plan& p) {
                 p.policy =
                     "measure func=BPRM_CHECK\nmeasure func=MMAP_CHECK\n";
                 Exclude(p, "**");
               }});
  s.push_back({"policy_mmap_fowner_root_unsigned_user_library", true, true,
               [](Plan& p) {
                 p.policy = "appraise func=MMAP_CHECK fowner=0\n";
                 Run("chown 1000:1000 " +
                     InTree(p, "lib/x86_64-linux-gnu/libpcre2-8.so.0"));
                 Exclude(p, "lib/x86_64-linux-gnu/libpcre2-8.so.0");
               }});
  // --- kept signatures -------------------------------------------------------
  s.push_back({"kept_evmctl_signatures", true, true,
               [](Plan& p) { EvmctlSignAll(p, p.keys->current); }});
  // security.ima a digest (evmctl ima_hash), security.evm a portable
  // signature: where a signature is required, the kernel takes the digest
  // once EVM verified the portable signature (INTEGRITY_PASS_IMMUTABLE).
  s.push_back(
      {"kept_evmctl_digests_under_imasig_policy", true, true, [](Plan& p) {
         p.policy = "appraise func=BPRM_CHECK appraise_type=imasig\n";
         EvmctlSignAll(p, p.keys->current, EvmctlIma::kDigest);
       }});
  s.push_back(
      {"kept_evmctl_signatures_of_a_foreign_key", false, false, [](Plan& p) {
         // The initramfs keeps the device's certificate.
         TestIdentity foreign = IssueKey(p, "foreign", p.keys->ca_b);
         EvmctlSignAll(p, foreign);
         p.build_flags.back() +=
             " --ima-cert " + ShellQuote(DerCopy(p.keys->current));
       }});
  // --- a shipped kernel whose built-in CA changed ---------------------------
  s.push_back({"shipped_kernel_with_new_ca", true, true, [](Plan& p) {
                 ShipKernelWithCaB(p);
                 p.signer = IssueKey(p, "next", p.keys->ca_b);
               }});
  // --- real images: the demo's sample and the small bench preset -----------
  s.push_back({"demo_sample_image", true, true, [](Plan& p) {
                 ReplaceTree(p, ShellQuote(SourceDir() +
                                           "/scripts/make-sample-rootfs.sh") +
                                    " " + ShellQuote(p.tree));
               }});
  s.push_back({"bench_small_preset_image", true, true, [](Plan& p) {
                 const char* env = std::getenv("IMAB_SHARED");
                 const std::string shared =
                     env != nullptr ? env : SourceDir() + "/../shared";
                 const std::string tool = shared + "/bench/make-rootfs.sh";
                 if (!fs::exists(tool)) {
                   GTEST_SKIP() << tool << " missing (set IMAB_SHARED)";
                 }
                 ReplaceTree(p, ShellQuote(tool) + " small " +
                                    ShellQuote(p.tree) + " >/dev/null");
               }});
  return s;
}

}  // namespace

const std::vector<KernelScenario>& KernelScenarios() {
  static const std::vector<KernelScenario> kScenarios = MakeScenarios();
  return kScenarios;
}

}  // namespace imab::testing
