// imab-build: command-line entry point. Parses arguments, calls the builder
// library, prints the outcome; no other logic lives here.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "builder/bundle_builder.h"

namespace {

class StderrReporter : public imab::Reporter {
 public:
  void Info(std::string_view message) override {
    std::cerr << "imab-build: " << message << "\n";
  }
  void Warn(std::string_view message) override {
    std::cerr << "imab-build: warning: " << message << "\n";
  }
};

// SOURCE_DATE_EPOCH (reproducible-builds.org) pins the creation time.
bool CreationTime(uint64_t* out) {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') {
    *out = static_cast<uint64_t>(std::time(nullptr));
    return true;
  }
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(epoch, &end, 10);
  if (errno != 0 || *end != '\0' || epoch[0] == '-') {
    return false;
  }
  *out = value;
  return true;
}

int Fail(const imab::Error& error) {
  std::cerr << "imab-build: error: " << error.message << "\n";
  return 2;
}

int RunBuild(imab::builder::BuildOptions options) {
  if (!CreationTime(&options.created)) {
    std::cerr << "imab-build: error: SOURCE_DATE_EPOCH is not a number\n";
    return 2;
  }
  StderrReporter reporter;
  auto summary = imab::builder::BuildBundle(options, reporter);
  if (!summary.has_value()) {
    return Fail(summary.error());
  }
  std::cout << "built " << options.output << ": " << summary->entries
            << " entries (" << summary->files << " files, "
            << summary->content_bytes << " bytes), payload "
            << summary->payload_bytes << " bytes, bundle "
            << summary->bundle_bytes << " bytes\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imab-build: build signed full-image update bundles"};
  app.require_subcommand(1);
  imab::builder::BuildOptions build;
  build.workers = static_cast<int>(std::thread::hardware_concurrency());
  CLI::App* cmd = app.add_subcommand("build", "Build a bundle from a rootfs");
  cmd->add_option("--rootfs", build.rootfs, "Rootfs folder or tarball")
      ->required();
  cmd->add_option("--version", build.image_version,
                  "Image version (dotted integers)")
      ->required();
  cmd->add_option("--compatible", build.compatible, "Device class name")
      ->required();
  cmd->add_option("--signing-key", build.signing_key,
                  "Release signing key (PEM)")
      ->required();
  cmd->add_option("--signing-cert", build.signing_cert,
                  "Release signing certificate (PEM or DER)")
      ->required();
  cmd->add_option("--chain", build.chain, "Intermediate certificates (PEM)");
  cmd->add_option("--output,-o", build.output, "Bundle file to write")
      ->required();
  cmd->add_option("--zstd-level", build.zstd_level, "zstd level (1-19)")
      ->capture_default_str();
  cmd->add_option("--threads", build.workers,
                  "zstd worker threads (0 = compress inline)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imab-build: usage error: " << e.what() << "\n";
    return 2;
  }
  try {
    return RunBuild(build);
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-build: error: out of memory\n";
    return 2;
  }
}
