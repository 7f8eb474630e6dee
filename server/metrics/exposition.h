// MetricsText: what /metrics answers. Collects the registry and the other collectables (see
// read_at_scrape.h, process_metrics.h) in the order given and writes them with prometheus-cpp's
// TextSerializer, in the text exposition format 0.0.4 (kMetricsContentType).
//
//   res.set_content(MetricsText({registry.get(), &reads, &process}), kMetricsContentType);
#ifndef TESSERA_SERVER_METRICS_EXPOSITION_H_
#define TESSERA_SERVER_METRICS_EXPOSITION_H_

#include <prometheus/collectable.h>

#include <string>
#include <vector>

namespace tessera {

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string MetricsText(const std::vector<const prometheus::Collectable*>& sources);

}  // namespace tessera

#endif  // TESSERA_SERVER_METRICS_EXPOSITION_H_
