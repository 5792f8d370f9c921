// Replays a fuzz corpus without libFuzzer: the g++ build links this main into
// every *_fuzz target so each corpus runs as a ctest (as rauc's
// fuzz/localfuzzer.c does). Usage: <target> CORPUS_DIR_OR_FILE...
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> data{std::istreambuf_iterator<char>(in),
                            std::istreambuf_iterator<char>()};
  // A fuzz target that finds a bug aborts (ASan, UBSan or a check), so
  // reaching the next line means the input passed.
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& item : std::filesystem::directory_iterator(arg, ec)) {
        if (item.is_regular_file()) {
          files.push_back(item.path());
        }
      }
    } else {
      files.push_back(arg);
    }
    if (ec) {
      std::fprintf(stderr, "cannot list %s: %s\n", argv[i],
                   ec.message().c_str());
      return 2;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (!RunFile(file)) {
        return 2;
      }
      ++runs;
    }
  }
  // An empty corpus would make the test pass without testing anything.
  if (runs == 0) {
    std::fprintf(stderr, "no corpus files found\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", runs);
  return 0;
}
