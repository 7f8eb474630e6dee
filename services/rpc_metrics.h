// RpcMetrics: the standard gRPC server metrics for every RPC, recorded by a server interceptor:
// grpc_server_started_total, grpc_server_handled_total{grpc_service,grpc_method,grpc_code} and
// grpc_server_handling_seconds. Each method's cells are looked up once (the first time a code is
// seen for it) and kept, so a call touches only atomics.
#ifndef TESSERA_SERVICES_RPC_METRICS_H_
#define TESSERA_SERVICES_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "core/metrics.h"

namespace tessera {

class RpcMetrics {
 public:
  // `services`: full names of the services whose methods get cells up front (others get theirs
  // on first call, under a lock, once).
  RpcMetrics(MetricsRegistry& registry, const std::vector<std::string>& services);

  // The server interceptor factory to hand to ServerBuilder.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  struct Method {
    std::string service, name;
    Counter* started = nullptr;
    Histogram* seconds = nullptr;
    std::array<std::atomic<Counter*>, 17> handled{};  // by grpc::StatusCode, filled on first use
  };
  // The cells of "/package.Service/Method".
  Method& For(absl::string_view full_method);
  Counter& Handled(Method& m, int code);

 private:
  std::unique_ptr<Method> NewMethod(absl::string_view full_method);

  Family<Counter>& started_;
  Family<Counter>& handled_;
  Family<Histogram>& seconds_;
  // Filled in the constructor; afterwards only unknown methods are added, under mu_.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> known_;
  Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> late_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_RPC_METRICS_H_
