// The gRPC face of tessera.v1.TokenService: each method turns its request into the logic's
// input, and the logic's outcome into a response (GrpcEdge does the rest of the call).
#ifndef TESSERA_SERVER_GRPC_TOKEN_SERVICE_H_
#define TESSERA_SERVER_GRPC_TOKEN_SERVICE_H_

#include "server/grpc/grpc_edge.h"
#include "services/introspection_logic.h"
#include "services/key_manager.h"
#include "services/revocation_logic.h"
#include "services/rotation_logic.h"
#include "services/session_logic.h"
#include "tessera/v1/token.grpc.pb.h"

namespace tessera {

class TokenServiceImpl final : public tessera::v1::TokenService::Service {
 public:
  TokenServiceImpl(GrpcEdge& edge, SessionLogic& sessions, IntrospectionLogic& introspection,
                   RevocationLogic& revocation, RotationLogic& rotation, const KeyManager& keys)
      : edge_(edge),
        sessions_(sessions),
        introspection_(introspection),
        revocation_(revocation),
        rotation_(rotation),
        keys_(keys) {}

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
  // Counts the issue by its grant, notes the principal for the log line and fills the answer.
  template <typename Response>
  grpc::Status Answer(grpc::ServerContext* context, const CallContext& call,
                      const absl::StatusOr<IssuedTokens>& issued, Response* response,
                      absl::string_view method);

  GrpcEdge& edge_;
  SessionLogic& sessions_;
  IntrospectionLogic& introspection_;
  RevocationLogic& revocation_;
  RotationLogic& rotation_;
  const KeyManager& keys_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_TOKEN_SERVICE_H_
