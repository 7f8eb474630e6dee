// SpinUntil: waits on a condition another thread makes true, with a deadline, so that a
// regression fails the test instead of hanging CI.
#ifndef TESSERA_TESTS_UNIT_SPIN_H_
#define TESSERA_TESTS_UNIT_SPIN_H_

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tessera {

// True once `done()` holds; false if `deadline` passed first.
template <typename Pred>
[[nodiscard]] bool SpinUntil(Pred done, absl::Duration deadline = absl::Seconds(30)) {
  absl::Time give_up = absl::Now() + deadline;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace tessera

#endif  // TESSERA_TESTS_UNIT_SPIN_H_
