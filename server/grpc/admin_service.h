// The gRPC face of tessera.v1.AdminService over AdminLogic and ApiKeyLogic: every method
// authenticates its caller through GrpcEdge, then translates a request and an outcome.
#ifndef TESSERA_SERVER_GRPC_ADMIN_SERVICE_H_
#define TESSERA_SERVER_GRPC_ADMIN_SERVICE_H_

#include "server/grpc/grpc_edge.h"
#include "services/admin_logic.h"
#include "services/api_key_logic.h"
#include "tessera/v1/admin.grpc.pb.h"

namespace tessera {

class AdminServiceImpl final : public tessera::v1::AdminService::Service {
 public:
  AdminServiceImpl(GrpcEdge& edge, AdminLogic& logic, ApiKeyLogic& api_keys)
      : edge_(edge), logic_(logic), api_keys_(api_keys) {}

  grpc::Status CreateOrganization(grpc::ServerContext* context,
                                  const v1::CreateOrganizationRequest* request,
                                  v1::CreateOrganizationResponse* response) override;
  grpc::Status CreateAccount(grpc::ServerContext* context, const v1::CreateAccountRequest* request,
                             v1::CreateAccountResponse* response) override;
  grpc::Status GetAccount(grpc::ServerContext* context, const v1::GetAccountRequest* request,
                          v1::GetAccountResponse* response) override;
  grpc::Status ListAccounts(grpc::ServerContext* context, const v1::ListAccountsRequest* request,
                            v1::ListAccountsResponse* response) override;
  grpc::Status DisableAccount(grpc::ServerContext* context,
                              const v1::DisableAccountRequest* request,
                              v1::DisableAccountResponse* response) override;
  grpc::Status CreateRole(grpc::ServerContext* context, const v1::CreateRoleRequest* request,
                          v1::CreateRoleResponse* response) override;
  grpc::Status AssignRole(grpc::ServerContext* context, const v1::AssignRoleRequest* request,
                          v1::AssignRoleResponse* response) override;
  grpc::Status ListAuditEvents(grpc::ServerContext* context,
                               const v1::ListAuditEventsRequest* request,
                               v1::ListAuditEventsResponse* response) override;
  grpc::Status UnassignRole(grpc::ServerContext* context, const v1::UnassignRoleRequest* request,
                            v1::UnassignRoleResponse* response) override;
  grpc::Status CreateApiKey(grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
                            v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context, const v1::ListApiKeysRequest* request,
                           v1::ListApiKeysResponse* response) override;

 private:
  // Authenticates the call and runs `body` with the caller, mapping any error at the edge.
  template <typename Body>
  grpc::Status Handle(grpc::ServerContext* context, absl::string_view method, Body body);

  GrpcEdge& edge_;
  AdminLogic& logic_;
  ApiKeyLogic& api_keys_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_ADMIN_SERVICE_H_
