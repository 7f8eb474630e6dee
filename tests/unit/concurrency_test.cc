// The units that threads share, raced against each other: metric cells written while rendered,
// the worker pool under more callers than it takes, and tessera's Mutex/Notification (the
// verified-token cache's race is CachingVerifierTest.Concurrent*). Run in the ordinary suite,
// and under ThreadSanitizer with every other test labelled `tsan`.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/sync.h"
#include "core/worker_pool.h"
#include "tests/unit/spin.h"

namespace tessera {
namespace {

TEST(MetricsConcurrencyTest, CellsWrittenWhileRendered) {
  MetricsRegistry registry;
  auto& family = registry.AddCounter("t_calls_total", "Calls.", {"kind"});
  auto& histogram = registry.AddHistogram("t_seconds", "Time.", {"kind"});
  std::atomic<bool> stop{false};
  std::thread renderer([&] {
    while (!stop.load()) (void)registry.Render();
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        family.Get({std::to_string((t + i) % 8)}).Inc();
        histogram.Get({"x"}).Observe(absl::Microseconds(i));
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  renderer.join();
  double total = 0;
  for (int k = 0; k < 8; ++k) total += family.Get({std::to_string(k)}).Value();
  EXPECT_EQ(total, 4 * 2000);
  EXPECT_EQ(histogram.Get({"x"}).Read().count, 4u * 2000u);
}

TEST(WorkerPoolConcurrencyTest, EveryAcceptedJobRunsOnceAndTheRestAreRefused) {
  constexpr int kWorkers = 2, kQueue = 4, kCallers = 8;
  BoundedWorkerPool pool(kWorkers, kQueue);
  std::atomic<bool> gate{false};
  std::atomic<int> ran{0}, accepted{0}, refused{0};
  std::vector<std::jthread> callers;
  // Opens the gate before the callers are joined, whatever fails below.
  struct Open {
    std::atomic<bool>& gate;
    ~Open() { gate = true; }
  };
  {
    Open open{gate};
    for (int t = 0; t < kCallers; ++t) {
      callers.emplace_back([&] {
        auto r = pool.Run<int>([&] {
          ran.fetch_add(1);
          (void)SpinUntil([&] { return gate.load(); });
          return 1;
        });
        (r.ok() ? accepted : refused).fetch_add(1);
      });
    }
    // The workers busy and the queue full: the callers past that are refused at once, while the
    // accepted ones are still waiting for their jobs.
    ASSERT_TRUE(SpinUntil([&] { return refused.load() == kCallers - kWorkers - kQueue; }));
    EXPECT_EQ(accepted.load(), 0);
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(accepted.load(), kWorkers + kQueue);
  EXPECT_EQ(ran.load(), accepted.load());
  EXPECT_EQ(refused.load(), kCallers - kWorkers - kQueue);
}

TEST(SyncConcurrencyTest, NotificationReleasesEveryWaiterOnce) {
  Notification ready;
  Mutex mu;
  int seen ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::thread> waiters;
  for (int t = 0; t < 4; ++t) {
    waiters.emplace_back([&] {
      ASSERT_TRUE(ready.WaitForNotificationWithTimeout(absl::Seconds(30)));
      MutexLock lock(&mu);
      ++seen;
    });
  }
  ready.Notify();
  for (auto& w : waiters) w.join();
  MutexLock lock(&mu);
  EXPECT_EQ(seen, 4);
}

}  // namespace
}  // namespace tessera
