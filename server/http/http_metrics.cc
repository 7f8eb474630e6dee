#include "server/http/http_metrics.h"

#include "server/metrics/latency_buckets.h"

namespace tessera {

HttpMetrics::HttpMetrics(prometheus::Registry& registry, const std::vector<std::string>& handlers)
    : requests_(prometheus::BuildCounter()
                    .Name("http_server_requests_total")
                    .Help("HTTP requests answered, by route and status code.")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("http_server_request_duration_seconds")
                   .Help("Time from a request's arrival to its answer, by route.")
                   .Register(registry)) {
  for (const std::string& name : handlers) {
    auto h = std::make_unique<Handler>();
    h->seconds = &seconds_.Add({{"handler", name}}, LatencyBuckets());
    for (int code : {200, 400, 401, 403, 404, 405, 429, 500, 503}) {
      h->by_code[code - 100] = &requests_.Add({{"handler", name}, {"code", std::to_string(code)}});
    }
    handlers_.emplace(name, std::move(h));
  }
}

void HttpMetrics::Observe(const std::string& name, int status, absl::Duration took) {
  auto it = handlers_.find(name);
  if (it == handlers_.end()) it = handlers_.find("none");
  if (it == handlers_.end()) return;
  Handler& h = *it->second;
  h.seconds->Observe(absl::ToDoubleSeconds(took));
  if (status < 100 || status > 599) status = 500;
  std::atomic<prometheus::Counter*>& cell = h.by_code[status - 100];
  prometheus::Counter* c = cell.load(std::memory_order_acquire);
  if (c == nullptr) {
    // Family::Add is locked and returns the same series for the same labels: a race is harmless.
    c = &requests_.Add({{"handler", it->first}, {"code", std::to_string(status)}});
    cell.store(c, std::memory_order_release);
  }
  c->Increment();
}

}  // namespace tessera
