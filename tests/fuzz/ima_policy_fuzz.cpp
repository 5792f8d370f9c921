// Fuzz target for the IMA policy reader (ImaPolicy::Parse over
// ParsePolicyRule), which the verifier runs on the policy an update ships:
// any text is parsed or refused for the kernel the first byte picks, without
// a crash, and an accepted policy evaluates files of every kind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/entry.h"
#include "verifier/trust/ima_policy.h"

namespace {

std::vector<imab::Entry> SampleEntries() {
  imab::Entry program;
  program.path = "usr/bin/ls";
  program.mode = 0755;
  imab::Entry library = program;
  library.path = "lib/x86_64-linux-gnu/libc.so.6";
  imab::Entry config;
  config.path = "etc/passwd";
  config.mode = 0644;
  config.uid = 1000;
  config.gid = 5;
  imab::Entry module = config;
  module.path = "lib/modules/6.1.0/kernel/fs/ext4.ko";
  module.uid = 0;
  return {program, library, config, module};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  imab::verifier::PolicyContext context;
  const uint8_t pick = data[0];
  static constexpr imab::KernelVersion kVersions[] = {
      {6, 1}, {6, 6}, {6, 12}, {6, 13}};
  context.grammar.version = kVersions[pick & 3];
  context.grammar.modsig = (pick & 4) != 0;
  if ((pick & 8) != 0) {
    context.rootfs.magic = 0xef53;
    context.rootfs.type = "ext4";
    context.rootfs.uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  }
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto policy = imab::verifier::ImaPolicy::Parse(text, "fuzz", context);
  if (!policy.has_value()) {
    return 0;
  }
  static const std::vector<imab::Entry> kEntries = SampleEntries();
  for (const imab::Entry& entry : kEntries) {
    imab::verifier::Appraisal appraisal = policy->Evaluate(
        entry, imab::verifier::kReachOpen | imab::verifier::kReachExec |
                   imab::verifier::kReachElfInterpreter);
    (void)imab::verifier::UnmetPolicyDemand(entry, appraisal);
  }
  (void)policy->Evaluate(0, 0);
  return 0;
}
