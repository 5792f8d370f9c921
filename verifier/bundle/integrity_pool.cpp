#include "verifier/bundle/integrity_pool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/read/ima_xattr.h"

namespace imab::verifier {

struct IntegrityPool::Shared {
  struct Job {
    uint64_t index;
    Entry entry;
    std::vector<uint8_t> digest;
  };
  struct Found {
    uint64_t index;
    IntegrityFailure failure;
  };

  const ImaChecker* checker = nullptr;
  std::mutex mu;
  // Two conditions, each woken one waiter at a time: a queue slot for the
  // streaming thread, a job for a worker. (One shared condition woke every
  // thread on every push and pop.)
  std::condition_variable job_ready;
  std::condition_variable slot_free;
  std::deque<Job> queue;
  bool closing = false;
  uint64_t next_index = 0;
  std::vector<Found> found;
  std::vector<std::thread> workers;

  void Record(uint64_t index, std::vector<IntegrityFailure>& failures) {
    for (IntegrityFailure& f : failures) {
      found.push_back({index, std::move(f)});
    }
  }

  void Run() {
    std::vector<IntegrityFailure> failures;
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu);
        job_ready.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) {
          return;
        }
        job = std::move(queue.front());
        queue.pop_front();
      }
      slot_free.notify_one();
      failures.clear();
      checker->Check(job.entry, job.digest, &failures);
      if (!failures.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        Record(job.index, failures);
      }
    }
  }
};

IntegrityPool::IntegrityPool(const ImaChecker& checker, int threads)
    : shared_(std::make_unique<Shared>()) {
  shared_->checker = &checker;
  Shared* s = shared_.get();
  for (int i = 0; i < std::max(1, threads); ++i) {
    s->workers.emplace_back([s] { s->Run(); });
  }
}

IntegrityPool::~IntegrityPool() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->closing = true;
    shared_->queue.clear();
    shared_->job_ready.notify_all();
    shared_->slot_free.notify_all();
  }
  for (std::thread& t : shared_->workers) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void IntegrityPool::Submit(Entry entry, std::vector<uint8_t> digest) {
  Shared& s = *shared_;
  uint64_t index = s.next_index++;
  bool has_signatures = FindXattr(entry, kImaXattr) != nullptr ||
                        FindXattr(entry, kEvmXattr) != nullptr;
  if (!has_signatures) {
    // Nothing costly to check (the checker only confirms there is nothing
    // a non-file may not carry).
    std::vector<IntegrityFailure> failures;
    s.checker->Check(entry, digest, &failures);
    std::lock_guard<std::mutex> lock(s.mu);
    s.Record(index, failures);
    return;
  }
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.slot_free.wait(lock, [&] { return s.queue.size() < kQueueEntries; });
    s.queue.push_back({index, std::move(entry), std::move(digest)});
  }
  s.job_ready.notify_one();
}

std::vector<IntegrityFailure> IntegrityPool::Finish() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->closing = true;
    shared_->job_ready.notify_all();
  }
  for (std::thread& t : shared_->workers) {
    t.join();
  }
  std::vector<Shared::Found>& found = shared_->found;
  std::stable_sort(found.begin(), found.end(),
                   [](const Shared::Found& a, const Shared::Found& b) {
                     return a.index < b.index;
                   });
  std::vector<IntegrityFailure> out;
  for (Shared::Found& f : found) {
    out.push_back(std::move(f.failure));
  }
  return out;
}

}  // namespace imab::verifier
