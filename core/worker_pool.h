// BoundedWorkerPool: a fixed set of threads with a bounded queue, for CPU-heavy work (Argon2id)
// that must not run on RPC threads without limit, and for blocking work (a database write) that
// a non-blocking handler hands off. When the queue is full, Run() fails fast with
// RESOURCE_EXHAUSTED (and Post() with false) instead of letting latency grow without bound.
// queued(), busy() and refused() are what /metrics shows of it, so that an operator sees saturation
// coming.
#ifndef TESSERA_CORE_WORKER_POOL_H_
#define TESSERA_CORE_WORKER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

class BoundedWorkerPool {
 public:
  // `nice` > 0 adds to the workers' nice value (Linux: per thread; at most 19), so that work
  // queued here yields the CPU to everything else in the process when the cores are busy.
  BoundedWorkerPool(int threads, size_t max_queued, int nice = 0);
  ~BoundedWorkerPool();
  BoundedWorkerPool(const BoundedWorkerPool&) = delete;
  BoundedWorkerPool& operator=(const BoundedWorkerPool&) = delete;

  // Runs `fn` on a worker and waits for its result.
  template <typename T>
  absl::StatusOr<T> Run(std::function<T()> fn) {
    auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
    std::future<T> result = task->get_future();
    if (!Post([task] { (*task)(); })) {
      return absl::ResourceExhaustedError("password hashing capacity exhausted; retry later");
    }
    return result.get();
  }

  // Runs `job` on a worker later, without waiting. False when the queue is full (counted in
  // refused()) or the pool is stopping; a job queued before the pool stops still runs.
  bool Post(std::function<void()> job);

  int threads() const { return static_cast<int>(workers_.size()); }
  size_t max_queued() const { return max_queued_; }
  // Jobs waiting for a worker.
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  // Workers running a job now.
  int busy() const { return busy_.load(std::memory_order_relaxed); }
  // Run() calls refused because the queue was full, since the pool started.
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  const size_t max_queued_;
  bool stopping_ = false;
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> refused_{0};
  std::vector<std::thread> workers_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_WORKER_POOL_H_
