// Load: keeps N calls outstanding for a fixed time after a warm-up (or until a fixed number of
// calls is done) and measures completed calls per second and latency percentiles from a
// log-linear histogram (about 3% resolution). The call itself is a function that starts one
// asynchronous call and reports its end, so the same loop drives every workload.
#ifndef TESSERA_BENCH_LOAD_H_
#define TESSERA_BENCH_LOAD_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tessera::bench {

// Latencies in microseconds: 32 sub-buckets per power of two.
class LatencyHistogram {
 public:
  void Record(absl::Duration d);
  // The latency below which `q` (0..1) of the calls finished, in microseconds.
  double Quantile(double q) const;
  uint64_t count() const;

 private:
  static constexpr int kSub = 32;
  static constexpr int kBuckets = 40 * kSub;
  static int Bucket(uint64_t us);
  static double Lower(int bucket);
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

struct LoadResult {
  uint64_t calls = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double rate = 0;  // calls per second
  double p50_us = 0, p90_us = 0, p99_us = 0;
  // Per kind of call, when LoadOptions::kind_of sorts them (a mixed workload); else empty.
  struct Kind {
    uint64_t calls = 0, errors = 0;
    double rate = 0, p50_us = 0, p99_us = 0;
  };
  std::vector<Kind> kinds;
};

struct LoadOptions {
  int outstanding = 1;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(4);
  // Stop after this many measured calls instead (0: run for `duration`).
  uint64_t max_calls = 0;
  // For a mixed workload: the kind (0 .. kinds-1) of call number `i`, measured apart as well.
  int kinds = 0;
  std::function<int(uint64_t i)> kind_of;
};

// Starts call number `i`; must call `done(ok)` exactly once when it ends (from any thread).
using StartCall = std::function<void(uint64_t i, std::function<void(bool ok)> done)>;

LoadResult RunLoad(const LoadOptions& options, const StartCall& start);

// The blocking counterpart, for work measured without gRPC (raw Argon2id, raw transactions):
// `threads` threads each call `work(thread)` in a loop; a call returns whether it succeeded.
// `outstanding` in `options` is ignored; max_calls and kind_of are not supported.
LoadResult RunThreads(const LoadOptions& options, int threads,
                      const std::function<bool(int thread)>& work);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_LOAD_H_
