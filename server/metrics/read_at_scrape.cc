#include "server/metrics/read_at_scrape.h"

namespace tessera {

prometheus::ClientMetric MetricSample(prometheus::MetricType type, const prometheus::Labels& labels,
                                      double value) {
  prometheus::ClientMetric metric;
  for (const auto& [label, label_value] : labels) metric.label.push_back({label, label_value});
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

void ReadAtScrape::AddGauge(std::string name, std::string help, Reader read) {
  entries_.push_back(
      {std::move(name), std::move(help), prometheus::MetricType::Gauge, std::move(read)});
}

void ReadAtScrape::AddCounter(std::string name, std::string help, Reader read) {
  entries_.push_back(
      {std::move(name), std::move(help), prometheus::MetricType::Counter, std::move(read)});
}

std::vector<prometheus::MetricFamily> ReadAtScrape::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  families.reserve(entries_.size());
  for (const Entry& e : entries_) {
    prometheus::MetricFamily family{e.name, e.help, e.type, {}};
    for (const auto& [labels, value] : e.read()) {
      family.metric.push_back(MetricSample(e.type, labels, value));
    }
    families.push_back(std::move(family));
  }
  return families;
}

}  // namespace tessera
