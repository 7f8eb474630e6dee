// Clock: the one source of "now" for tessera. Injected wherever time matters so that tests drive
// expiry, grace windows and overlaps with FakeClock instead of sleeping.
#ifndef TESSERA_CORE_CLOCK_H_
#define TESSERA_CORE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/sync.h"

namespace tessera {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000)) : now_(start) {}
  absl::Time Now() const override {
    MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable Mutex mu_;
  absl::Time now_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_CLOCK_H_
