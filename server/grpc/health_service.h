// HealthService: grpc.health.v1.Health, implemented here (not gRPC's built-in one) so that its
// descriptor is in the generated pool and server reflection can describe it. The server flips
// the status as PostgreSQL comes and goes; Watch streams every change.
#ifndef TESSERA_SERVER_GRPC_HEALTH_SERVICE_H_
#define TESSERA_SERVER_GRPC_HEALTH_SERVICE_H_

#include "core/sync.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tessera {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  void SetServing(bool serving);
  // Ends every Watch stream (at shutdown, after setting NOT_SERVING).
  void Shutdown();
  bool serving() const;

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusFor(const std::string& service) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_HEALTH_SERVICE_H_
