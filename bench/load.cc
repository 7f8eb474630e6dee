#include "bench/load.h"

#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace tessera::bench {

int LatencyHistogram::Bucket(uint64_t us) {
  if (us < kSub) return static_cast<int>(us);
  int exp = 63 - __builtin_clzll(us);  // us in [2^exp, 2^(exp+1))
  int sub = static_cast<int>((us >> (exp - 5)) & (kSub - 1));
  int b = (exp - 4) * kSub + sub;
  return b < kBuckets ? b : kBuckets - 1;
}

double LatencyHistogram::Lower(int b) {
  if (b < kSub) return b;
  int exp = b / kSub + 4;
  int sub = b % kSub;
  return std::ldexp(1.0, exp) + sub * std::ldexp(1.0, exp - 5);
}

void LatencyHistogram::Record(absl::Duration d) {
  int64_t us = absl::ToInt64Microseconds(d);
  counts_[Bucket(us < 0 ? 0 : static_cast<uint64_t>(us))].fetch_add(1, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const {
  uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

double LatencyHistogram::Quantile(double q) const {
  uint64_t total = count();
  if (total == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return (Lower(b) + Lower(b + 1)) / 2;  // the bucket's middle
  }
  return Lower(kBuckets - 1);
}

namespace {

// What a run measured: every recorded call, over `seconds`.
LoadResult Summarize(const LatencyHistogram& latency, uint64_t errors, double seconds) {
  LoadResult r;
  r.calls = latency.count();
  r.errors = errors;
  r.seconds = seconds;
  r.rate = seconds > 0 ? static_cast<double>(r.calls) / seconds : 0;
  r.p50_us = latency.Quantile(0.50);
  r.p90_us = latency.Quantile(0.90);
  r.p99_us = latency.Quantile(0.99);
  return r;
}

// The shared state of one run; each outstanding slot restarts its call when it ends.
struct Run {
  LoadOptions options;
  const StartCall* start;
  absl::Time measure_from, stop_at;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> measured{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<int> active{0};
  std::atomic<bool> stopping{false};
  LatencyHistogram latency;
  // Per kind, when options.kind_of is set.
  std::vector<std::unique_ptr<LatencyHistogram>> kind_latency;
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> kind_errors;
  absl::Notification all_done;

  void Launch() {
    uint64_t i = next.fetch_add(1);
    int kind = options.kind_of ? options.kind_of(i) : -1;
    absl::Time began = absl::Now();
    (*start)(i, [this, began, kind](bool ok) { Finished(began, kind, ok); });
  }

  void Finished(absl::Time began, int kind, bool ok) {
    absl::Time now = absl::Now();
    // A timed run counts the calls that end inside its window, wherever they began: counting
    // only those begun inside it undercounts a path whose calls take a good part of the window
    // (64 password logins queue for seconds) by about latency / duration. A run of a fixed
    // number of calls counts those it began.
    bool counted =
        options.max_calls > 0 ? began >= measure_from : now >= measure_from && now < stop_at;
    if (counted && !stopping.load()) {
      if (!ok) errors.fetch_add(1);
      latency.Record(now - began);
      if (kind >= 0) {
        kind_latency[kind]->Record(now - began);
        if (!ok) kind_errors[kind]->fetch_add(1);
      }
      uint64_t n = measured.fetch_add(1) + 1;
      if (options.max_calls > 0 && n >= options.max_calls) stopping.store(true);
    }
    if (now >= stop_at) stopping.store(true);
    if (stopping.load()) {
      if (active.fetch_sub(1) == 1) all_done.Notify();
      return;
    }
    Launch();
  }
};

}  // namespace

LoadResult RunLoad(const LoadOptions& options, const StartCall& start) {
  auto run = std::make_unique<Run>();
  run->options = options;
  run->start = &start;
  absl::Time begin = absl::Now();
  run->measure_from = begin + options.warmup;
  run->stop_at =
      options.max_calls > 0 ? absl::InfiniteFuture() : run->measure_from + options.duration;
  for (int k = 0; k < options.kinds; ++k) {
    run->kind_latency.push_back(std::make_unique<LatencyHistogram>());
    run->kind_errors.push_back(std::make_unique<std::atomic<uint64_t>>(0));
  }
  run->active.store(options.outstanding);
  for (int i = 0; i < options.outstanding; ++i) run->Launch();
  run->all_done.WaitForNotification();
  absl::Time end = options.max_calls > 0 ? absl::Now() : run->stop_at;
  LoadResult r =
      Summarize(run->latency, run->errors.load(), absl::ToDoubleSeconds(end - run->measure_from));
  for (int k = 0; k < options.kinds; ++k) {
    LoadResult::Kind kind;
    kind.calls = run->kind_latency[k]->count();
    kind.errors = run->kind_errors[k]->load();
    kind.rate = r.seconds > 0 ? static_cast<double>(kind.calls) / r.seconds : 0;
    kind.p50_us = run->kind_latency[k]->Quantile(0.50);
    kind.p99_us = run->kind_latency[k]->Quantile(0.99);
    r.kinds.push_back(kind);
  }
  return r;
}

LoadResult RunThreads(const LoadOptions& options, int threads,
                      const std::function<bool(int thread)>& work) {
  LatencyHistogram latency;
  std::atomic<uint64_t> errors{0};
  absl::Time measure_from = absl::Now() + options.warmup;
  absl::Time stop_at = measure_from + options.duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (;;) {
        absl::Time began = absl::Now();
        if (began >= stop_at) return;
        bool ok = work(t);
        absl::Time ended = absl::Now();  // counted when it ends inside the window, as RunLoad
        if (ended >= measure_from && ended < stop_at) {
          latency.Record(ended - began);
          if (!ok) errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  return Summarize(latency, errors.load(), absl::ToDoubleSeconds(options.duration));
}

}  // namespace tessera::bench
