// Mutex, locks and Notification for tessera's own code: the shape of Abseil's (same names, same
// thread-safety annotations, Await on a predicate), built on the C++ standard library's
// pthread-based primitives. Why not absl::Mutex itself: Debian's Abseil is compiled without
// ThreadSanitizer's annotations, so under TSan its locks are invisible and every access they
// guard looks like a race; pthread locks are intercepted by every sanitizer.
#ifndef TESSERA_CORE_SYNC_H_
#define TESSERA_CORE_SYNC_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tessera {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  // Like Mutex, releasing an exclusive hold re-checks the predicates of Await callers.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock();
    if (waiters_.load(std::memory_order_acquire) > 0) cv_.notify_all();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

  // With the lock held exclusively: waits until `ready()` is true (evaluated under the lock) or
  // `timeout` has passed; returns ready()'s last value.
  template <typename Predicate>
  bool AwaitWithTimeout(Predicate ready, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    if (ready()) return true;
    auto deadline = absl::ToChronoTime(absl::Now() + timeout);
    std::unique_lock<std::shared_mutex> lock(mu_, std::adopt_lock);
    waiters_.fetch_add(1, std::memory_order_acq_rel);
    bool result = cv_.wait_until(lock, deadline, ready);
    waiters_.fetch_sub(1, std::memory_order_acq_rel);
    lock.release();  // still held: the caller's lock object releases it
    return result;
  }

 private:
  std::shared_mutex mu_;
  std::condition_variable_any cv_;
  std::atomic<int> waiters_{0};
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A one-shot event: Notify() once, any number of waiters.
class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  void Notify() {
    MutexLock lock(&mu_);
    notified_.store(true, std::memory_order_release);
  }
  bool HasBeenNotified() const { return notified_.load(std::memory_order_acquire); }
  // True when notified before `timeout` passed.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout([this] { return HasBeenNotified(); }, timeout);
  }

 private:
  Mutex mu_;
  std::atomic<bool> notified_{false};
};

}  // namespace tessera

#endif  // TESSERA_CORE_SYNC_H_
