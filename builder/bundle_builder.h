// BuildBundle: turns a rootfs into a signed bundle (FORMAT.md), streaming
// every file once through hashing and compression.
#pragma once

#include <cstdint>
#include <string>

#include "common/reporter.h"
#include "common/result.h"

namespace imab::builder {

struct BuildOptions {
  std::string rootfs;        // folder or tarball
  std::string image_version;  // VERSION, FORMAT.md §3.1
  std::string compatible;     // NAME
  std::string signing_key;    // PEM private key
  std::string signing_cert;   // PEM or DER certificate
  std::string chain;          // PEM intermediates, may be empty
  std::string output;         // the .imab to write
  uint64_t created = 0;       // manifest `created` (SOURCE_DATE_EPOCH)
  int zstd_level = 3;         // 1..19
  int workers = 0;            // zstd worker threads; 0 = none
};

struct BuildSummary {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;   // sum of file sizes
  uint64_t payload_bytes = 0;   // compressed
  uint64_t bundle_bytes = 0;
};

// Builds the bundle. Checks the options and loads the signing identity
// before reading the rootfs. On success `options.output` exists, complete;
// on any failure it is not created (an existing file at that path is left
// untouched) and the error names the input and the rule. Deterministic:
// the same rootfs and options give a byte-identical manifest and payload.
Result<BuildSummary> BuildBundle(const BuildOptions& options,
                                 Reporter& reporter);

}  // namespace imab::builder
