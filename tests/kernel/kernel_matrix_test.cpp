// The kernel matrix: every scenario is a bundle built by imab-build, judged
// by `imab-verify verify --root` on a device provisioned for the kernel,
// extracted by `imab-verify extract`, and booted on that real kernel under
// QEMU. The verifier's verdict must equal the kernel's (accept <=> every
// probe passes), and a refusal must name a file the kernel refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "tests/kernel/kernel_harness.h"
#include "tests/kernel/kernel_scenario.h"
#include "tests/kernel/kernel_scenarios.h"
#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {
namespace fs = std::filesystem;

struct Verdict {
  bool accepted = false;
  std::string message;
};

class KernelMatrix
    : public ::testing::TestWithParam<std::tuple<std::string, size_t>> {
 protected:
  static void SetUpTestSuite() {
    if (!KernelHarnessUnavailable().empty()) {
      return;
    }
    shared_ = std::make_unique<Shared>();
  }
  static void TearDownTestSuite() { shared_.reset(); }

  void SetUp() override {
    std::string why = KernelHarnessUnavailable();
    if (!why.empty()) {
      GTEST_SKIP() << "kernel matrix skipped: " << why;
    }
  }

  struct Shared {
    TempDir dir;
    MatrixKeys keys;
    ReleaseKeys release{dir.Sub("")};
    Shared() {
      keys.ca_a = LoadIdentity(TestKernelCaKey("a"), TestKernelCaPem("a"));
      keys.ca_b = LoadIdentity(TestKernelCaKey("b"), TestKernelCaPem("b"));
      keys.current = MakeIssued(dir.Sub(""), "current", keys.ca_a,
                                {.common_name = "imabundle device key 1"});
    }
  };
  static std::unique_ptr<Shared> shared_;

  Plan DefaultPlan(const std::string& kernel) {
    Plan plan;
    plan.kernel = kernel;
    plan.dir = dir_.Sub("");
    plan.tree = dir_.Sub("rootfs");
    plan.keys = &shared_->keys;
    plan.signer = LoadIdentity(shared_->keys.current.key_path,
                               shared_->keys.current.cert_path);
    plan.exec = DefaultExecProbes();
    MakeBaseTree(plan.tree, DerCopy(shared_->keys.current));
    return plan;
  }

  std::string BootCaPem(const Plan& plan) const {
    return TestKernelCaPem(plan.boot_ca);
  }

  void InitDevice(const Plan& plan) {
    std::string command =
        ShellQuote(VerifyBin()) + " device init --root " +
        ShellQuote(dir_.Sub("device")) +
        " --compatible test-board --release-ca " +
        ShellQuote(shared_->release.ca().cert_path) + " --kernel-ca " +
        ShellQuote(TestKernelCaPem("a")) + " --ima-cert " +
        ShellQuote(DerCopy(shared_->keys.current)) + " --kernel-version " +
        plan.kernel + " --rootfs-magic 0xef53 --rootfs-type ext4";
    if (plan.policy.has_value()) {
      WriteFile(dir_.Sub("device-policy"), *plan.policy);
      command += " --ima-policy " + ShellQuote(dir_.Sub("device-policy"));
    }
    for (const std::string& flag : plan.device_flags) {
      command += " " + flag;
    }
    CommandResult init = RunShell(command);
    ASSERT_EQ(init.exit_code, 0) << command << "\n" << init.err;
  }

  CommandResult Build(const Plan& plan) {
    std::string command =
        "SOURCE_DATE_EPOCH=1700000000 " + ShellQuote(BuildBin()) +
        " build --rootfs " + ShellQuote(plan.tree) +
        " --version 2.0 --compatible test-board --signing-key " +
        ShellQuote(shared_->release.signer().key_path) + " --signing-cert " +
        ShellQuote(shared_->release.signer().cert_path) + " --output " +
        ShellQuote(dir_.Sub("update.imab")) + " --kernel-version " +
        plan.kernel;
    if (plan.sign) {
      command += " --ima-key " + ShellQuote(plan.signer.key_path) +
                 " --ima-cert " + ShellQuote(DerCopy(plan.signer));
    }
    if (plan.builder_knows_kernel_ca) {
      command += " --kernel-ca " + ShellQuote(BootCaPem(plan));
    }
    for (const std::string& flag : plan.build_flags) {
      command += " " + flag;
    }
    CommandResult build = RunShell(command);
    build.err = command + "\n" + build.err;
    return build;
  }

  // imab-build with the kernel CA named; where it refuses (it must refuse
  // only what the kernel refuses), the bundle is built again without
  // --kernel-ca, as a release engineer who did not name it would, so the
  // verifier and the kernel judge it too.
  void BuildAsReleaseEngineer(Plan& plan, bool kernel_should_accept) {
    CommandResult build = Build(plan);
    if (build.exit_code == 0 || !plan.builder_knows_kernel_ca) {
      ASSERT_EQ(build.exit_code, 0) << build.err;
      return;
    }
    ASSERT_FALSE(kernel_should_accept)
        << "imab-build refuses an update this kernel accepts:\n"
        << build.err;
    plan.builder_knows_kernel_ca = false;
    build = Build(plan);
    ASSERT_EQ(build.exit_code, 0) << build.err;
  }

  Verdict Verify() {
    CommandResult verify =
        RunShell(ShellQuote(VerifyBin()) + " verify " +
                 ShellQuote(dir_.Sub("update.imab")) + " --root " +
                 ShellQuote(dir_.Sub("device")) + " --no-time-check");
    return {verify.exit_code == 0, verify.out + verify.err};
  }

  // The kernel's verdict over every boot of the plan.
  std::optional<bool> Boot(const Plan& plan, std::string* report) {
    CommandResult extract =
        RunShell(ShellQuote(VerifyBin()) + " extract " +
                 ShellQuote(dir_.Sub("update.imab")) + " --release-ca " +
                 ShellQuote(shared_->release.ca().cert_path) + " --to " +
                 ShellQuote(dir_.Sub("image")) + " --no-time-check");
    EXPECT_EQ(extract.exit_code, 0) << extract.err;
    std::string error;
    std::string kernel = TestKernelImage(plan.kernel, BootCaPem(plan), &error);
    EXPECT_FALSE(kernel.empty()) << error;
    if (extract.exit_code != 0 || kernel.empty()) {
      return std::nullopt;
    }
    bool all_passed = true;
    for (size_t i = 0; i < plan.boots.size(); ++i) {
      BootRequest request{kernel,
                          dir_.Sub("image"),
                          dir_.Sub("boot-" + std::to_string(i)),
                          plan.boots[i],
                          plan.policy,
                          plan.exec};
      std::optional<BootResult> result = BootImage(request, &error);
      EXPECT_TRUE(result.has_value()) << error;
      if (!result.has_value()) {
        return std::nullopt;
      }
      EXPECT_FALSE(result->policy_refused) << "the kernel refused the policy";
      all_passed = all_passed && result->AllPassed();
      std::vector<std::string> failed = result->FailedPaths();
      failed_.insert(failed_.end(), failed.begin(), failed.end());
      *report += "boot " + std::to_string(i) + ":\n" + result->Summary();
    }
    return all_passed;
  }

  bool NamesAFailedFile(const std::string& message) const {
    for (const std::string& path : failed_) {
      if (!path.empty() && message.find(path.substr(1)) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  TempDir dir_;
  std::vector<std::string> failed_;
};

std::unique_ptr<KernelMatrix::Shared> KernelMatrix::shared_;

TEST_P(KernelMatrix, VerifierAgreesWithKernel) {
  const auto& [kernel, index] = GetParam();
  const KernelScenario& scenario = KernelScenarios()[index];
  Plan plan = DefaultPlan(kernel);
  scenario.setup(plan);
  const bool intended =
      kernel == "6.1" ? scenario.accepted_by_6_1 : scenario.accepted_by_6_12;
  ASSERT_NO_FATAL_FAILURE(InitDevice(plan));
  ASSERT_NO_FATAL_FAILURE(BuildAsReleaseEngineer(plan, intended));
  Verdict verdict = Verify();
  std::string report;
  std::optional<bool> kernel_accepts = Boot(plan, &report);
  ASSERT_TRUE(kernel_accepts.has_value());
  EXPECT_EQ(*kernel_accepts, intended)
      << "the kernel's verdict is not the one this scenario is built for\n"
      << report;
  EXPECT_EQ(verdict.accepted, *kernel_accepts)
      << "verifier " << (verdict.accepted ? "accepts" : "refuses")
      << ", kernel " << (*kernel_accepts ? "accepts" : "refuses")
      << "\nverifier said:\n"
      << verdict.message << "\nkernel:\n"
      << report;
  if (!verdict.accepted && !*kernel_accepts) {
    EXPECT_TRUE(NamesAFailedFile(verdict.message))
        << "the refusal names no file the kernel refused\nverifier said:\n"
        << verdict.message << "\nkernel:\n"
        << report;
  }
}

std::string ScenarioName(
    const ::testing::TestParamInfo<std::tuple<std::string, size_t>>& info) {
  std::string kernel = std::get<0>(info.param);
  for (char& c : kernel) {
    if (c == '.') c = '_';
  }
  return "linux" + kernel + "_" +
         KernelScenarios()[std::get<1>(info.param)].name;
}

std::vector<size_t> AllScenarios() {
  std::vector<size_t> all(KernelScenarios().size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, KernelMatrix,
    ::testing::Combine(::testing::Values("6.1", "6.12"),
                       ::testing::ValuesIn(AllScenarios())),
    ScenarioName);

}  // namespace
}  // namespace imab::testing
