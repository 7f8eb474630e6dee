// HttpMetrics: what every HTTP request records, on both HTTP ports: the conventional
// http_server_requests_total{handler,code} and http_server_request_duration_seconds{handler}.
// `handler` is the route's name (token, introspect, metrics, ...; "none" for a path that is not
// served), never the raw path, so a scanner cannot grow the label set. Each handler's cells for
// the common codes are made once, so a request never looks a family up.
#ifndef TESSERA_SERVER_HTTP_HTTP_METRICS_H_
#define TESSERA_SERVER_HTTP_HTTP_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace tessera {

class HttpMetrics {
 public:
  // `handlers`: every route name that will be observed, plus "none".
  HttpMetrics(prometheus::Registry& registry, const std::vector<std::string>& handlers);

  void Observe(const std::string& handler, int status, absl::Duration took);

 private:
  struct Handler {
    prometheus::Histogram* seconds = nullptr;
    // By status code 100..599; the common ones from the start, others on first use.
    std::array<std::atomic<prometheus::Counter*>, 500> by_code{};
  };
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  absl::flat_hash_map<std::string, std::unique_ptr<Handler>> handlers_;  // fixed after the ctor
};

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_HTTP_METRICS_H_
