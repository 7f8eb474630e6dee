// Metrics: counters, gauges and histograms with labels, in Prometheus's data model, rendered in
// the text exposition format 0.0.4 for /metrics (prometheus-cpp is not packaged for Debian
// bookworm). Updating a metric takes no lock: a cell is a few relaxed atomics, and callers look
// up the cell for their label values once (under its family's lock) and keep the reference,
// which stays valid for the registry's lifetime.
#ifndef TESSERA_CORE_METRICS_H_
#define TESSERA_CORE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/histogram.h"
#include "core/sync.h"

namespace tessera {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

using LabelValues = std::vector<std::string>;

// The cells of one metric name, one per combination of label values.
template <typename Cell>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

  // The cell for `values` (one per label name), made on first use.
  Cell& Get(const LabelValues& values) {
    MutexLock lock(&mu_);
    auto& cell = cells_[values];
    if (!cell) cell = std::make_unique<Cell>();
    return *cell;
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls `fn(values, cell)` for every cell, in label order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    MutexLock lock(&mu_);
    for (const auto& [values, cell] : cells_) fn(values, *cell);
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable Mutex mu_;
  std::map<LabelValues, std::unique_ptr<Cell>> cells_ ABSL_GUARDED_BY(mu_);
};

class MetricsRegistry {
 public:
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels = {});
  // A gauge read when scraped: `read` returns each label combination and its value.
  using GaugeReader = std::function<std::vector<std::pair<LabelValues, double>>()>;
  void AddGaugeReader(std::string name, std::string help, std::vector<std::string> labels,
                      GaugeReader read);

  // A histogram kept elsewhere (unlabelled), rendered under `name`; it must outlive the registry.
  void AddExternalHistogram(std::string name, std::string help, const Histogram& histogram);

  // Every family in registration order, as Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  struct Entry {
    enum class Type { kCounter, kGauge, kHistogram, kGaugeReader, kExternalHistogram } type;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
    std::string name, help;
    std::vector<std::string> labels;
    GaugeReader read;
    const Histogram* external = nullptr;
  };
  Entry& Append(std::unique_ptr<Entry> entry);
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_CORE_METRICS_H_
