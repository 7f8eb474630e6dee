#include "server/grpc/health_service.h"

namespace tessera {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {
// The services whose health Check answers for; "" is the server as a whole.
bool KnownService(const std::string& s) {
  return s.empty() || s == "tessera.v1.TokenService" || s == "tessera.v1.AdminService" ||
         s == "envoy.service.auth.v3.Authorization";
}
}  // namespace

void HealthService::SetServing(bool serving) {
  MutexLock lock(&mu_);
  if (serving_ == serving) return;
  serving_ = serving;
  ++version_;
}

void HealthService::Shutdown() {
  MutexLock lock(&mu_);
  serving_ = false;
  shutdown_ = true;
  ++version_;
}

bool HealthService::serving() const {
  MutexLock lock(&mu_);
  return serving_;
}

HealthCheckResponse::ServingStatus HealthService::StatusFor(const std::string& service) const {
  if (!KnownService(service)) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext*, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  MutexLock lock(&mu_);
  if (!KnownService(request->service())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  }
  response->set_status(StatusFor(request->service()));
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  int64_t seen = -1;
  for (;;) {
    HealthCheckResponse response;
    {
      MutexLock lock(&mu_);
      auto changed = [&]()
                         ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen || shutdown_; };
      // Wake at least once a second to notice a cancelled call.
      mu_.AwaitWithTimeout(changed, absl::Seconds(1));
      if (shutdown_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      if (version_ == seen) continue;
      seen = version_;
      response.set_status(StatusFor(request->service()));
    }
    if (!writer->Write(response)) return grpc::Status::CANCELLED;
  }
}

}  // namespace tessera
