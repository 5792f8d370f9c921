#include "verifier/boot/custom_bootloader.h"

#include "common/read/printable.h"
#include "verifier/device/run_program.h"

namespace imab::verifier {

namespace {

// The answers are one word: a script printing more is broken (or not the
// script device.conf meant), and its output is never kept unbounded.
constexpr size_t kMaxScriptOutputBytes = 4096;

std::string CommandText(const std::string& script,
                        const std::vector<std::string>& arguments) {
  std::string text = script;
  for (const std::string& argument : arguments) {
    text += " " + argument;
  }
  return text;
}

}  // namespace

Result<std::string> CustomBootloader::Run(
    const std::vector<std::string>& arguments) const {
  ProgramRun run;
  run.argv.push_back(script_);
  run.argv.insert(run.argv.end(), arguments.begin(), arguments.end());
  run.max_output_bytes = kMaxScriptOutputBytes;
  const std::string command =
      "bootloader-script " + CommandText(script_, arguments);
  Result<ProgramResult> result = RunProgram(run);
  if (!result.has_value()) {
    return MakeError(ErrorCode::kIo,
                     command + ": " + std::move(result).error().message);
  }
  if (result->exit_code != 0) {
    return MakeError(ErrorCode::kIo, command + ": " + DescribeFailure(*result));
  }
  return std::move(result->out);
}

Result<size_t> CustomBootloader::RunForWord(
    const std::vector<std::string>& arguments,
    const std::vector<std::string>& words) const {
  IMAB_ASSIGN_OR_RETURN(std::string out, Run(arguments));
  for (size_t i = 0; i < words.size(); ++i) {
    if (out == words[i] || out == words[i] + "\n") {
      return i;
    }
  }
  std::string wanted;
  for (const std::string& expected : words) {
    wanted += (wanted.empty() ? "" : " or ") + expected;
  }
  // A wrong answer is never taken for one slot or the other.
  return MakeError(ErrorCode::kIo, "bootloader-script " +
                                       CommandText(script_, arguments) +
                                       ": printed \"" + Printable(out) +
                                       "\", expected " + wanted);
}

Result<SlotId> CustomBootloader::Primary() const {
  IMAB_ASSIGN_OR_RETURN(size_t word, RunForWord({"get-primary"}, {"a", "b"}));
  return word == 0 ? SlotId::kA : SlotId::kB;
}

Result<BootSlotStatus> CustomBootloader::SlotStatus(SlotId slot) const {
  IMAB_ASSIGN_OR_RETURN(
      size_t word, RunForWord({"get-state", SlotName(slot)}, {"good", "bad"}));
  BootSlotStatus status;
  status.bootable = word == 0;
  return status;
}

Status CustomBootloader::SetPrimary(SlotId slot) {
  IMAB_RETURN_IF_ERROR(Run({"set-primary", SlotName(slot)}));
  return OkStatus();
}

Status CustomBootloader::MarkGood(SlotId slot) {
  IMAB_RETURN_IF_ERROR(Run({"set-state", SlotName(slot), "good"}));
  return OkStatus();
}

Status CustomBootloader::MarkBad(SlotId slot) {
  IMAB_RETURN_IF_ERROR(Run({"set-state", SlotName(slot), "bad"}));
  return OkStatus();
}

}  // namespace imab::verifier
