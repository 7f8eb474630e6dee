// The gRPC face of Envoy's external-authorization API (envoy.service.auth.v3.Authorization/
// Check): it turns a CheckRequest, as Envoy's ext_authz filter sends it, into the proxied
// request's credential and the route's policy, asks ProxyCheckLogic, and turns the decision
// into what Envoy does next.
//
// Allowed: OkHttpResponse sets the caller's identity for the upstream (<prefix>subject,
// <prefix>org-id, <prefix>scopes, <prefix>client-id, replacing whatever the client sent under
// those names), removes the credential (`authorization`, `x-api-secret`) unless configured to
// keep it, removes every other header the client sent under the prefix (nobody forges them),
// and puts the same claims into CheckResponse.dynamic_metadata for later filters.
// Denied: 401 with `www-authenticate: Bearer` (error="invalid_token" when a credential was
// sent), 403 with error="insufficient_scope", 429 with `retry-after`, and a
// CheckResponse.status to match. A route policy that does not parse denies with 500 (fail
// closed) and an error log line naming the key. Only the proxy's own credential failing is a
// gRPC error on the Check call itself.
#ifndef TESSERA_SERVER_GRPC_EXT_AUTHZ_SERVICE_H_
#define TESSERA_SERVER_GRPC_EXT_AUTHZ_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/worker_pool.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "server/grpc/grpc_edge.h"
#include "services/proxy_check_logic.h"

namespace tessera {

struct ExtAuthzOptions {
  // Lower case; the claims' headers are this plus subject, org-id, scopes, client-id.
  std::string header_prefix = "x-tessera-";
  // The upstream gets the request's `authorization` and `x-api-secret` too.
  bool keep_credential = false;
};

class ExtAuthzService final : public envoy::service::auth::v3::Authorization::CallbackService {
 public:
  // `writes`: where the rare check that must write to PostgreSQL before it answers (a failed
  // service-token secret's count) runs, off the callback reactor's threads.
  ExtAuthzService(GrpcEdge& edge, ProxyCheckLogic& logic, BoundedWorkerPool& writes,
                  ExtAuthzOptions options);
  ~ExtAuthzService() override;

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const envoy::service::auth::v3::CheckRequest* request,
                                  envoy::service::auth::v3::CheckResponse* response) override;

 private:
  // Fills ok_response and dynamic_metadata for `who`; `prefixed`: the headers the client sent
  // under the prefix (lower case).
  void Allow(const Principal& who, std::vector<std::string> prefixed,
             envoy::service::auth::v3::CheckResponse* response) const;
  // Fills status and denied_response for `why`; `policy`: the route's, whose scopes a 403's
  // challenge names (null: none to name).
  void Deny(const absl::Status& why, bool credential_sent, const RoutePolicy* policy,
            absl::string_view request_id, envoy::service::auth::v3::CheckResponse* response) const;
  // A route policy that does not parse: 500, fail closed, and a log line for the operator.
  void DenyMisconfigured(const absl::Status& why, const CallContext& call,
                         envoy::service::auth::v3::CheckResponse* response) const;

  // The whole decision, from memory; the writes it needs made before the answer go to
  // `deferred`.
  grpc::Status Decide(grpc::ServerContextBase* context,
                      const envoy::service::auth::v3::CheckRequest* request,
                      envoy::service::auth::v3::CheckResponse* response,
                      std::vector<std::function<void()>>* deferred);

  GrpcEdge& edge_;
  ProxyCheckLogic& logic_;
  BoundedWorkerPool& writes_;
  const ExtAuthzOptions options_;
  // The names of the claims' headers: prefix + subject, org-id, scopes, client-id.
  const std::string subject_header_, org_header_, scopes_header_, client_header_;
  // When each rate-limited log line was last written (nanoseconds).
  mutable std::atomic<int64_t> policy_logged_{0}, internal_logged_{0}, overload_logged_{0};
  std::unique_ptr<grpc::MessageAllocator<envoy::service::auth::v3::CheckRequest,
                                         envoy::service::auth::v3::CheckResponse>>
      allocator_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_EXT_AUTHZ_SERVICE_H_
