// imab-sign-bench: IMA/EVM signing throughput of the builder's DigestSigner
// on 1..N threads, to see how signing alone scales with cores.
// Usage: imab-sign-bench KEY.pem CERT THREADS SIGNATURES
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "builder/digest_signer.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s KEY CERT THREADS SIGNATURES\n", argv[0]);
    return 2;
  }
  auto signer = imab::builder::LoadFileDigestSigner(argv[1], argv[2]);
  if (!signer.has_value()) {
    std::fprintf(stderr, "%s\n", signer.error().message.c_str());
    return 2;
  }
  int threads = std::atoi(argv[3]);
  long total = std::atol(argv[4]);
  std::vector<uint8_t> digest(32, 0x5a);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (long i = t; i < total; i += threads) {
        auto sig = (*signer)->Sign(imab::HashAlgo::kSha256, digest);
        if (!sig.has_value()) {
          std::abort();
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("threads=%d signatures=%ld seconds=%.3f per_second=%.0f\n",
              threads, total, seconds, static_cast<double>(total) / seconds);
  return 0;
}
