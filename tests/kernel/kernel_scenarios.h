// The scenarios of the kernel matrix (kernel_matrix_test.cpp), each run on
// Linux 6.1 and 6.12.
#pragma once

#include <string>
#include <vector>

#include "tests/kernel/kernel_scenario.h"

namespace imab::testing {

struct KernelScenario {
  std::string name;
  // What the scenario is built to show on each kernel (from the kernel
  // sources; the boot confirms it, and the test fails if it does not).
  bool accepted_by_6_1 = true;
  bool accepted_by_6_12 = true;
  void (*setup)(Plan& plan) = nullptr;
};

const std::vector<KernelScenario>& KernelScenarios();

}  // namespace imab::testing
