// ReadAtScrape: metrics whose values live elsewhere (a pool's size, a queue's depth, a snapshot's
// entry count) and are read when Prometheus scrapes, not pushed on every change. Each family is
// a name, a help text, a type (gauge or counter) and a function returning its samples; the
// registry-side adapter is prometheus-cpp's own extension point, `prometheus::Collectable`.
//
//   ReadAtScrape reads;
//   reads.AddGauge("tessera_db_pool_connections", "Connections, by state.", [&] {
//     return Samples{{{{"state", "idle"}}, pool.idle()}, {{{"state", "in_use"}}, pool.busy()}};
//   });
//   // ...then hand `reads` to the /metrics exposition beside the registry.
#ifndef TESSERA_SERVER_METRICS_READ_AT_SCRAPE_H_
#define TESSERA_SERVER_METRICS_READ_AT_SCRAPE_H_

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tessera {

// The samples of one family: each label set and its value.
using Samples = std::vector<std::pair<prometheus::Labels, double>>;

// One sample of a counter or gauge family, as a Collectable hands it to the serializer.
prometheus::ClientMetric MetricSample(prometheus::MetricType type, const prometheus::Labels& labels,
                                      double value);

class ReadAtScrape : public prometheus::Collectable {
 public:
  using Reader = std::function<Samples()>;

  // Add before the first scrape; `read` runs on the scraping thread and must be thread-safe.
  void AddGauge(std::string name, std::string help, Reader read);
  // A counter kept elsewhere as a monotonic count (e.g. an atomic the owner increments).
  void AddCounter(std::string name, std::string help, Reader read);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name, help;
    prometheus::MetricType type;
    Reader read;
  };
  std::vector<Entry> entries_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_METRICS_READ_AT_SCRAPE_H_
