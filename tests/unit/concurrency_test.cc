// The units that threads share, raced against each other: the worker pool under more callers than
// it takes, and tessera's Mutex/Notification (the verified-token cache's race is
// CachingVerifierTest.Concurrent*). Run in the ordinary suite, and under ThreadSanitizer with every
// other test labelled `tsan`.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/sync.h"
#include "core/worker_pool.h"
#include "tests/unit/spin.h"

namespace tessera {
namespace {

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
    auto call = [&] {
      auto r = pool.Run<int>([&] {
        ran.fetch_add(1);
        (void)SpinUntil([&] { return gate.load(); });
        return 1;
      });
      (r.ok() ? accepted : refused).fetch_add(1);
    };
    // First as many callers as workers, until each worker holds one (otherwise a loaded machine
    // could let more than kQueue wait before a worker takes any, and refuse more); then the rest.
    for (int t = 0; t < kWorkers; ++t) callers.emplace_back(call);
    ASSERT_TRUE(SpinUntil([&] { return pool.busy() == kWorkers; }));
    for (int t = kWorkers; t < kCallers; ++t) callers.emplace_back(call);
    // The workers busy and the queue full: the callers past that are refused at once, while the
    // accepted ones are still waiting for their jobs.
    ASSERT_TRUE(SpinUntil([&] { return refused.load() == kCallers - kWorkers - kQueue; }));
    EXPECT_EQ(accepted.load(), 0);
    // What /metrics shows of it: both workers busy, the queue full, each refusal counted.
    EXPECT_EQ(pool.busy(), kWorkers);
    EXPECT_EQ(pool.queued(), static_cast<size_t>(kQueue));
    EXPECT_EQ(pool.refused(), static_cast<uint64_t>(kCallers - kWorkers - kQueue));
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(accepted.load(), kWorkers + kQueue);
  EXPECT_EQ(ran.load(), accepted.load());
  EXPECT_EQ(refused.load(), kCallers - kWorkers - kQueue);
  EXPECT_TRUE(SpinUntil([&] { return pool.busy() == 0; }));
  EXPECT_EQ(pool.queued(), 0u);
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
