// RpcMetrics: what a server interceptor records for every RPC. The standard gRPC server metrics
// (grpc_server_started_total, grpc_server_handled_total{grpc_service,grpc_method,grpc_code},
// grpc_server_handling_seconds, as prometheus-cpp families; each method's metrics are added once
// and kept, so a call never looks a family up), and one JSON log line per call: request ID, method,
// code, duration, the caller's org and principal (from CallNotes, filled by the handler) and peer.
#ifndef TESSERA_SERVER_GRPC_RPC_METRICS_H_
#define TESSERA_SERVER_GRPC_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "core/sync.h"
#include "server/grpc/call_notes.h"

namespace tessera {

class RpcMetrics {
 public:
  // `services`: full names of the services whose methods get cells up front (others get theirs
  // on first call, under a lock, once).
  RpcMetrics(prometheus::Registry& registry, CallNotes& calls,
             const std::vector<std::string>& services);
  CallNotes& calls() { return calls_; }

  // The server interceptor factory to hand to ServerBuilder.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  struct Method {
    std::string service, name;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* seconds = nullptr;
    // By grpc::StatusCode: OK and the server errors from the start, the others on first use.
    std::array<std::atomic<prometheus::Counter*>, 17> handled{};
  };
  // The cells of "/package.Service/Method".
  Method& For(absl::string_view full_method);
  prometheus::Counter& Handled(Method& m, int code);

 private:
  std::unique_ptr<Method> NewMethod(absl::string_view full_method);

  CallNotes& calls_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  // Filled in the constructor; afterwards only unknown methods are added, under mu_.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> known_;
  Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> late_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_RPC_METRICS_H_
