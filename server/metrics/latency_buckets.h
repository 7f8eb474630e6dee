// The bucket bounds of tessera's duration histograms (RPC handling, change-feed lag), in seconds:
// from 100 µs, where a cached Introspect answers, to 10 s; anything slower lands in +Inf.
#ifndef TESSERA_SERVER_METRICS_LATENCY_BUCKETS_H_
#define TESSERA_SERVER_METRICS_LATENCY_BUCKETS_H_

#include <prometheus/histogram.h>

namespace tessera {

inline const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBounds = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 10};
  return *kBounds;
}

}  // namespace tessera

#endif  // TESSERA_SERVER_METRICS_LATENCY_BUCKETS_H_
