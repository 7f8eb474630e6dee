// The metrics module: Prometheus text format 0.0.4 as promtool reads it (HELP/TYPE lines, label
// escaping, cumulative histogram buckets with +Inf, _sum and _count), and cells that stay put.
#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace tessera {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, RendersCountersWithEscapedLabels) {
  MetricsRegistry r;
  auto& handled =
      r.AddCounter("rpc_handled_total", "Handled RPCs.\nSecond line", {"method", "code"});
  handled.Get({"Introspect", "OK"}).Inc(3);
  handled.Get({"say \"hi\"\\", "OK"}).Inc();
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# HELP rpc_handled_total Handled RPCs.\\nSecond line")) << text;
  EXPECT_TRUE(Has(text, "# TYPE rpc_handled_total counter")) << text;
  EXPECT_TRUE(Has(text, "rpc_handled_total{method=\"Introspect\",code=\"OK\"} 3")) << text;
  EXPECT_TRUE(Has(text, "rpc_handled_total{method=\"say \\\"hi\\\"\\\\\",code=\"OK\"} 1")) << text;
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndEndInInf) {
  MetricsRegistry r;
  auto& h = r.AddHistogram("op_seconds", "Op time.");
  h.Get({}).Observe(absl::Microseconds(50));
  h.Get({}).Observe(absl::Milliseconds(3));
  h.Get({}).Observe(absl::Seconds(60));
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# TYPE op_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_bucket{le=\"0.0001\"} 1")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_bucket{le=\"0.005\"} 2")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_bucket{le=\"10\"} 2")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_bucket{le=\"+Inf\"} 3")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_count 3")) << text;
  EXPECT_TRUE(Has(text, "op_seconds_sum 60.00305")) << text;
}

TEST(MetricsTest, GaugesAndReadersAreReadWhenRendered) {
  MetricsRegistry r;
  r.AddGauge("temperature_celsius", "T.").Get({}).Set(21.5);
  int calls = 0;
  r.AddGaugeReader("entries", "Entries.", {"kind"}, [&] {
    ++calls;
    return std::vector<std::pair<LabelValues, double>>{{{"jti"}, 7}, {{"family"}, 1e9}};
  });
  std::string text = r.Render();
  EXPECT_TRUE(Has(text, "temperature_celsius 21.5")) << text;
  EXPECT_TRUE(Has(text, "entries{kind=\"jti\"} 7")) << text;
  EXPECT_TRUE(Has(text, "entries{kind=\"family\"} 1000000000")) << text;
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry r;
  Counter& c = r.AddCounter("n_total", "N.").Get({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 400000u);
  // A cell's address never changes as others are added: callers keep references.
  auto& family = r.AddCounter("m_total", "M.", {"k"});
  Counter* first = &family.Get({"a"});
  for (int i = 0; i < 1000; ++i) family.Get({std::to_string(i)});
  EXPECT_EQ(first, &family.Get({"a"}));
}

}  // namespace
}  // namespace tessera
