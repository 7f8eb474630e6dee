// ProcessMetrics: the standard process metrics every Prometheus client library exports, under
// the same names and units (seconds, bytes), read from /proc at each scrape:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (Unix time). A file that cannot
// be read or parsed leaves its metrics out of that scrape rather than reporting a made-up 0.
//
//   auto process = std::make_shared<ProcessMetrics>();   // this process, from /proc/self
//   ProcessMetrics other("/tmp/fake-proc", "1234");       // tests: a hand-made /proc tree
#ifndef TESSERA_SERVER_METRICS_PROCESS_METRICS_H_
#define TESSERA_SERVER_METRICS_PROCESS_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace tessera {

class ProcessMetrics : public prometheus::Collectable {
 public:
  // Reads `<proc_root>/<pid>/{stat,fd,limits}` and `<proc_root>/stat` (for the boot time).
  explicit ProcessMetrics(std::string proc_root = "/proc", std::string pid = "self");

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string proc_root_;
  const std::string pid_dir_;
  const long ticks_per_second_;
  const long page_bytes_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_METRICS_PROCESS_METRICS_H_
