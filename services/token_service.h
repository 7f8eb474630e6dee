// The gRPC adapter for tessera.v1.TokenService over TokenLogic.
#ifndef TESSERA_SERVICES_TOKEN_SERVICE_H_
#define TESSERA_SERVICES_TOKEN_SERVICE_H_

#include "services/api_key_logic.h"
#include "services/call_notes.h"
#include "services/rotation_logic.h"
#include "services/service_metrics.h"
#include "services/token_logic.h"
#include "tessera/v1/token.grpc.pb.h"

namespace tessera {

class TokenServiceImpl final : public tessera::v1::TokenService::Service {
 public:
  // `introspect_by_certificate`: an Introspect call without a bearer credential is allowed when
  // its connection presented a client certificate that TLS verified (--introspect_auth=mtls).
  TokenServiceImpl(TokenLogic& logic, ApiKeyLogic& api_keys, RotationLogic& rotation,
                   ServiceMetrics& metrics, CallNotes& calls,
                   bool introspect_by_certificate = false)
      : logic_(logic),
        api_keys_(api_keys),
        rotation_(rotation),
        metrics_(metrics),
        calls_(calls),
        introspect_by_certificate_(introspect_by_certificate) {}

  grpc::Status IssueToken(grpc::ServerContext* context, const v1::IssueTokenRequest* request,
                          v1::IssueTokenResponse* response) override;
  grpc::Status Refresh(grpc::ServerContext* context, const v1::RefreshRequest* request,
                       v1::RefreshResponse* response) override;
  grpc::Status Revoke(grpc::ServerContext* context, const v1::RevokeRequest* request,
                      v1::RevokeResponse* response) override;
  grpc::Status Introspect(grpc::ServerContext* context, const v1::IntrospectRequest* request,
                          v1::IntrospectResponse* response) override;
  grpc::Status Rotate(grpc::ServerContext* context, const v1::RotateRequest* request,
                      v1::RotateResponse* response) override;
  grpc::Status GetJwks(grpc::ServerContext* context, const v1::GetJwksRequest* request,
                       v1::GetJwksResponse* response) override;

 private:
  // Counts the issue by its grant, notes the caller for the log line and fills the answer.
  template <typename Response>
  grpc::Status Answer(grpc::ServerContext* context, const IssuedTokens& issued, Response* response);
  TokenLogic& logic_;
  ApiKeyLogic& api_keys_;
  RotationLogic& rotation_;
  ServiceMetrics& metrics_;
  CallNotes& calls_;
  const bool introspect_by_certificate_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_TOKEN_SERVICE_H_
