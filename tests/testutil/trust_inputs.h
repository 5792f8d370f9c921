// Test helpers that load trust material and open bundles from files the way
// imab-verify's main does (verifier/load/), so that tests which name a
// bundle and a CA file by path keep their shape while VerifyBundle itself
// takes only loaded data.
#pragma once

#include <memory>
#include <string>

#include "common/read/byte_source.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/bundle/manifest_signature.h"
#include "verifier/load/material_loader.h"

namespace imab::testing {

// What one plain `verify` run reads (the main's LoadedRun).
using LoadedVerify = verifier::LoadedRun;

// Opens `bundle_path` and loads the release CAs of the PEM file
// `release_ca` into `loaded`, pointing loaded.options at them (time checks
// on, no device). The errors imab-verify would print.
Status LoadForVerify(const std::string& bundle_path,
                     const std::string& release_ca, LoadedVerify& loaded);

// LoadForVerify, then VerifyBundle into `sink`: the status `imab-verify
// verify BUNDLE --release-ca CA` (or `extract`, with a DirectorySink)
// would end with.
Status VerifyFiles(const std::string& bundle_path,
                   const std::string& release_ca, verifier::EntrySink& sink,
                   verifier::VerifyReport& report);

// The release CAs of the PEM file `path` as a ReleaseTrust (the loader's
// errors, naming the file).
Result<verifier::ReleaseTrust> LoadReleaseTrust(const std::string& path);

}  // namespace imab::testing
