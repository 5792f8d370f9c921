// SoftHsm: a throw-away SoftHSM2 token in a temporary folder, for tests of
// keys held in PKCS#11 tokens.
#pragma once

#include <string>

#include "tests/testutil/temp_dir.h"

namespace imab::testing {

class SoftHsm {
 public:
  static constexpr const char* kModulePath = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr const char* kUserPin = "1234";
  static constexpr const char* kSoPin = "5678";

  // True when softhsm2-util is on PATH and the module exists; tests call
  // GTEST_SKIP otherwise.
  static bool Available();

  // Writes a softhsm2.conf whose token directory is inside a fresh TempDir,
  // points SOFTHSM2_CONF (process-wide) at it, and initialises a token
  // `label` with kUserPin / kSoPin. Failures are ADD_FAILUREs; check ok().
  // SoftHSM reads the configuration when the module is initialised, so no
  // PKCS#11 session of an earlier SoftHsm may still be open.
  explicit SoftHsm(std::string label = "imab-test");

  bool ok() const { return ok_; }
  const std::string& label() const { return label_; }
  const TempDir& dir() const { return dir_; }

  // Imports the unencrypted PKCS#8 PEM key at `key_path` as private-key
  // object `object` with CKA_ID `id_hex` (hex digits, e.g. "01"). False
  // (and an ADD_FAILURE with softhsm2-util's output) on failure.
  bool ImportKey(const std::string& key_path, const std::string& object,
                 const std::string& id_hex) const;

  // "pkcs11:token=LABEL;object=OBJECT;type=private?pin-value=1234", with
  // `object` as given (so callers may percent-encode it).
  std::string Uri(const std::string& object) const;

 private:
  TempDir dir_;
  std::string label_;
  bool ok_ = false;
};

}  // namespace imab::testing
