#include "server/metrics/read_at_scrape.h"

#include <prometheus/client_metric.h>

namespace tessera {

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
      prometheus::ClientMetric metric;
      for (const auto& [label, label_value] : labels) metric.label.push_back({label, label_value});
      if (e.type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      family.metric.push_back(std::move(metric));
    }
    families.push_back(std::move(family));
  }
  return families;
}

}  // namespace tessera
