// Histogram: a fixed-bucket, lock-free histogram of durations in seconds, shaped like a
// Prometheus histogram (cumulative `le` buckets, sum, count) so /metrics can print it as is.
#ifndef TESSERA_CORE_HISTOGRAM_H_
#define TESSERA_CORE_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace tessera {

class Histogram {
 public:
  // Upper bounds in seconds, from 100 µs to 10 s; anything slower lands in +Inf.
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 10};

  void Observe(absl::Duration d) {
    double s = absl::ToDoubleSeconds(d);
    if (s < 0) s = 0;  // clocks of two machines can disagree by a little
    size_t i = 0;
    while (i < kBounds.size() && s > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(
        absl::ToInt64Microseconds(d < absl::ZeroDuration() ? absl::ZeroDuration() : d),
        std::memory_order_relaxed);
  }

  struct Totals {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum_seconds = 0;
    uint64_t count = 0;
  };
  Totals Read() const {
    Totals t;
    uint64_t running = 0;
    for (const auto& c : counts_) {
      running += c.load(std::memory_order_relaxed);
      t.cumulative.push_back(running);
    }
    t.count = running;
    t.sum_seconds = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
    return t;
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<int64_t> sum_micros_{0};
};

}  // namespace tessera

#endif  // TESSERA_CORE_HISTOGRAM_H_
