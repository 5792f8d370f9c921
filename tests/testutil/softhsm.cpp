#include "tests/testutil/softhsm.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "tests/testutil/run.h"

namespace imab::testing {

bool SoftHsm::Available() {
  std::error_code ec;
  return std::filesystem::exists(kModulePath, ec) && HaveTool("softhsm2-util");
}

SoftHsm::SoftHsm(std::string label) : label_(std::move(label)) {
  const std::string tokens = dir_.Sub("tokens");
  const std::string conf = dir_.Sub("softhsm2.conf");
  std::error_code ec;
  std::filesystem::create_directory(tokens, ec);
  if (ec) {
    ADD_FAILURE() << "mkdir " << tokens << ": " << ec.message();
    return;
  }
  WriteFile(conf, "directories.tokendir = " + tokens +
                      "\nobjectstore.backend = file\nlog.level = ERROR\n");
  // The module reads its configuration path from the environment; tests
  // own the process, the library never does this.
  if (::setenv("SOFTHSM2_CONF", conf.c_str(), 1) != 0) {
    ADD_FAILURE() << "setenv SOFTHSM2_CONF failed";
    return;
  }
  CommandResult r = RunShell("softhsm2-util --init-token --free --label " +
                             ShellQuote(label_) + " --pin " + kUserPin +
                             " --so-pin " + kSoPin);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "softhsm2-util --init-token: " << r.out << r.err;
    return;
  }
  ok_ = true;
}

bool SoftHsm::ImportKey(const std::string& key_path, const std::string& object,
                        const std::string& id_hex) const {
  CommandResult r =
      RunShell("softhsm2-util --import " + ShellQuote(key_path) + " --token " +
               ShellQuote(label_) + " --label " + ShellQuote(object) +
               " --id " + ShellQuote(id_hex) + " --pin " + kUserPin);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "softhsm2-util --import " << key_path << ": " << r.out
                  << r.err;
    return false;
  }
  return true;
}

std::string SoftHsm::Uri(const std::string& object) const {
  return "pkcs11:token=" + label_ + ";object=" + object +
         ";type=private?pin-value=" + kUserPin;
}

}  // namespace imab::testing
