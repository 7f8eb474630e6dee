// /metrics' own parts on prometheus-cpp: the read-at-scrape adapter, the process metrics from a
// hand-made /proc tree and from this process's, the latency buckets as the text format writes
// them, and the service counters each moved only by their own outcome (raced while scraped in
// the Concurrency test, which also runs under ThreadSanitizer).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/grpc/call_notes.h"
#include "server/grpc/rpc_metrics.h"
#include "server/metrics/exposition.h"
#include "server/metrics/latency_buckets.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/read_at_scrape.h"
#include "server/service_metrics.h"
#include "services/login_guard.h"
#include "services/refusal.h"

namespace tessera {
namespace {

// Every sample line of a scrape: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    size_t space = line.rfind(' ');
    double v = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v)) << line;
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

std::string Scrape(const prometheus::Collectable& c) { return MetricsText({&c}); }

TEST(ReadAtScrapeTest, ReadsAtEveryScrapeWithTypeAndLabels) {
  ReadAtScrape reads;
  std::atomic<int> depth{3};
  reads.AddGauge("t_queue_depth", "Jobs waiting.", [&] {
    return tessera::Samples{{{}, depth * 1.0}};
  });
  reads.AddCounter("t_refused_total", "Refusals.", [] {
    return tessera::Samples{{{{"why", "full"}}, 7}, {{{"why", "stopping"}}, 0}};
  });
  std::string text = Scrape(reads);
  EXPECT_NE(text.find("# TYPE t_queue_depth gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE t_refused_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP t_refused_total Refusals.\n"), std::string::npos) << text;
  auto s = Samples(text);
  EXPECT_EQ(s["t_queue_depth"], 3);
  EXPECT_EQ(s["t_refused_total{why=\"full\"}"], 7);
  EXPECT_EQ(s.count("t_refused_total{why=\"stopping\"}"), 1u);
  depth = 5;
  EXPECT_EQ(Samples(Scrape(reads))["t_queue_depth"], 5);
}

class FakeProc {
 public:
  FakeProc()
      : root_(std::filesystem::temp_directory_path() / ("fake-proc-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "42" / "fd");
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

TEST(ProcessMetricsTest, ReadsAHandMadeProcTree) {
  FakeProc proc;
  const long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  // Fields 3..24 of proc(5); the command name holds a space and a parenthesis, as it may.
  std::string fields = "S 1 42 42 0 -1 4194560 100 0 0 0 ";                   // 3..13
  fields += std::to_string(3 * tick) + " " + std::to_string(tick / 2) + " ";  // utime, stime
  fields += "0 0 20 0 9 0 " + std::to_string(10 * tick) + " 123456789 2000";  // ..22 23 24
  proc.Write("42/stat", "42 (tes sera) x) " + fields + " 18446744073709551615 1 1 0\n");
  proc.Write("stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n");
  proc.Write("42/limits",
             "Limit                     Soft Limit           Hard Limit           Units\n"
             "Max processes             63452                63452                processes\n"
             "Max open files            1024                 524288               files\n");
  for (const char* fd : {"0", "1", "2", "7"}) proc.Write(std::string("42/fd/") + fd, "");
  auto s = Samples(Scrape(ProcessMetrics(proc.root(), "42")));
  EXPECT_DOUBLE_EQ(s["process_cpu_seconds_total"], 3.0 + static_cast<double>(tick / 2) / tick);
  EXPECT_DOUBLE_EQ(s["process_resident_memory_bytes"], 2000.0 * page);
  EXPECT_DOUBLE_EQ(s["process_virtual_memory_bytes"], 123456789);
  EXPECT_DOUBLE_EQ(s["process_open_fds"], 4);
  EXPECT_DOUBLE_EQ(s["process_max_fds"], 1024);
  EXPECT_DOUBLE_EQ(s["process_start_time_seconds"], 1700000010);
}

TEST(ProcessMetricsTest, WhatCannotBeReadIsLeftOutNotMadeUp) {
  FakeProc proc;
  proc.Write("42/stat", "42 (short) S 1\n");  // too few fields
  proc.Write("42/limits",
             "Max open files            unlimited            unlimited            files\n");
  std::string text = Scrape(ProcessMetrics(proc.root(), "42"));
  auto s = Samples(text);
  EXPECT_EQ(s.count("process_cpu_seconds_total"), 0u) << text;
  EXPECT_EQ(s.count("process_resident_memory_bytes"), 0u);
  EXPECT_EQ(s.count("process_start_time_seconds"), 0u);
  EXPECT_EQ(s.count("process_max_fds"), 0u);
  ASSERT_EQ(s.count("process_open_fds"), 1u);
  EXPECT_EQ(s["process_open_fds"], 0);  // the fd directory is there, and empty
  EXPECT_TRUE(Samples(Scrape(ProcessMetrics(proc.root(), "no-such-pid"))).empty());
}

TEST(ProcessMetricsTest, ThisProcess) {
  ProcessMetrics self;
  // Some CPU time for the kernel to have counted (it counts in ticks of 10 ms).
  for (std::clock_t start = std::clock(); std::clock() - start < CLOCKS_PER_SEC / 20;) {
  }
  double before = Samples(Scrape(self))["process_open_fds"];
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  auto s = Samples(Scrape(self));
  close(fd);
  EXPECT_EQ(s["process_open_fds"], before + 1);
  EXPECT_GT(s["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(s["process_virtual_memory_bytes"], s["process_resident_memory_bytes"]);
  EXPECT_GE(s["process_max_fds"], s["process_open_fds"]);
  double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(s["process_start_time_seconds"], now + 1);
  EXPECT_GT(s["process_start_time_seconds"], now - 3600);  // a test binary is young
  EXPECT_GE(s["process_cpu_seconds_total"], 0.02);
}

TEST(LatencyBucketsTest, WrittenAsShortDecimalsEndingInInf) {
  prometheus::Registry r;
  auto& h = prometheus::BuildHistogram()
                .Name("t_seconds")
                .Help("Time.")
                .Register(r)
                .Add({{"m", "x"}}, LatencyBuckets());
  h.Observe(0.00005);
  h.Observe(0.003);
  h.Observe(20);
  auto s = Samples(Scrape(r));
  EXPECT_EQ(s["t_seconds_bucket{m=\"x\",le=\"0.0001\"}"], 1);
  EXPECT_EQ(s["t_seconds_bucket{m=\"x\",le=\"0.005\"}"], 2);
  EXPECT_EQ(s["t_seconds_bucket{m=\"x\",le=\"10\"}"], 2);
  EXPECT_EQ(s["t_seconds_bucket{m=\"x\",le=\"+Inf\"}"], 3);
  EXPECT_EQ(s["t_seconds_count{m=\"x\"}"], 3);
}

// Each outcome moves its own counter and no other.
TEST(ServiceMetricsTest, EachRefusalCountsOnceUnderItsOwnReason) {
  prometheus::Registry r;
  ServiceMetrics m(r);
  auto base = Samples(Scrape(r));
  struct Case {
    absl::Status status;
    std::vector<std::string> moved;
  } cases[] = {
      {MarkRefused(absl::UnauthenticatedError("x"), RefusalReason::kInvalidCredentials),
       {"tessera_auth_failures_total{reason=\"invalid_credentials\"}"}},
      {MarkRefused(absl::UnauthenticatedError("x"), RefusalReason::kInvalidBearer),
       {"tessera_auth_failures_total{reason=\"invalid_bearer\"}"}},
      {MarkRefused(absl::UnauthenticatedError("x"), RefusalReason::kInvalidRefreshToken),
       {"tessera_auth_failures_total{reason=\"invalid_refresh_token\"}"}},
      {MarkRefused(absl::UnauthenticatedError("x"), RefusalReason::kInvalidRefreshToken,
                   /*reused=*/true),
       {"tessera_auth_failures_total{reason=\"invalid_refresh_token\"}",
        "tessera_refresh_reuse_detected_total"}},
      {TooManyAttempts(absl::Seconds(30)), {"tessera_auth_failures_total{reason=\"locked_out\"}"}},
      {absl::ResourceExhaustedError("password hashing capacity exhausted"), {}},
      {absl::InternalError("x"), {}},
  };
  for (const Case& c : cases) {
    m.Refused(c.status);
    auto now = Samples(Scrape(r));
    for (const auto& [name, value] : now) {
      bool expected = std::find(c.moved.begin(), c.moved.end(), name) != c.moved.end();
      EXPECT_EQ(value - base[name], expected ? 1 : 0) << name << " after " << c.status;
    }
    base = now;
  }
}

// Counters incremented, and new label sets added (a method's first status code), while /metrics
// is being collected. Under ThreadSanitizer this sees tessera's side; Debian's prometheus-cpp is
// not instrumented, so its own atomics and mutexes are taken on trust.
TEST(MetricsConcurrencyTest, CountersWrittenAndAddedWhileScraped) {
  prometheus::Registry r;
  ServiceMetrics m(r);
  CallNotes notes;
  RpcMetrics rpc(r, notes, {});
  std::atomic<int> scrapes{0};
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop.load()) {
      (void)Scrape(r);
      scrapes.fetch_add(1);
    }
  });
  constexpr int kWriters = 4, kCalls = 2000;
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      // Each writer runs until it has made its calls and the scraper has overlapped them.
      for (int i = 0; i < kCalls || scrapes.load() < 20; ++i) {
        if (i >= kCalls) {
          std::this_thread::yield();
          continue;
        }
        m.Issued(static_cast<IssueGrant>((t + i) % 4));
        m.Introspected(i % 2 == 0);
        RpcMetrics::Method& method = rpc.For("/t.Service/M" + std::to_string(i % 3));
        rpc.Handled(method, i % 17).Increment();
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  scraper.join();
  EXPECT_GE(scrapes.load(), 20);
  auto s = Samples(Scrape(r));
  double issued = 0, handled = 0;
  for (const char* g : {"password", "refresh", "api_key", "service_token"}) {
    issued += s[std::string("tessera_tokens_issued_total{grant=\"") + g + "\"}"];
  }
  for (const auto& [name, value] : s) {
    if (name.rfind("grpc_server_handled_total{", 0) == 0) handled += value;
  }
  EXPECT_EQ(issued, kWriters * kCalls);
  EXPECT_EQ(s["tessera_introspections_total{result=\"active\"}"], kWriters * kCalls / 2);
  EXPECT_EQ(handled, kWriters * kCalls);
  // Every code of every method, once: 3 methods x 17 codes, however the writers raced.
  EXPECT_EQ(std::count_if(
                s.begin(), s.end(),
                [](const auto& e) { return e.first.rfind("grpc_server_handled_total{", 0) == 0; }),
            3 * 17);
}

}  // namespace
}  // namespace tessera
