#include "core/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace tessera {

BoundedWorkerPool::BoundedWorkerPool(int threads, size_t max_queued, int nice)
    : max_queued_(max_queued) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this, nice] {
      // On Linux a thread has its own nice value. Raising it needs no privilege; if it fails
      // anyway, the work still runs, only without yielding to the RPC threads.
      if (nice > 0) {
        auto tid = static_cast<id_t>(gettid());
        setpriority(PRIO_PROCESS, tid, std::min(getpriority(PRIO_PROCESS, tid) + nice, 19));
      }
      Work();
    });
  }
}

BoundedWorkerPool::~BoundedWorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

bool BoundedWorkerPool::Post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) {
      if (!stopping_) refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void BoundedWorkerPool::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_.fetch_add(1, std::memory_order_relaxed);
    }
    job();
    busy_.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace tessera
