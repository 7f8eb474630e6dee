// The edge between gRPC and the service logic: request IDs and peers from the ServerContext,
// bearer authentication from metadata, and absl::Status → grpc::Status, done once per call.
// INTERNAL and UNAVAILABLE details are logged with the request ID and never sent to the caller.
#ifndef TESSERA_SERVICES_GRPC_EDGE_H_
#define TESSERA_SERVICES_GRPC_EDGE_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/call_notes.h"
#include "services/principal.h"
#include "services/service_metrics.h"
#include "services/token_logic.h"
#include "storage/api_key_store.h"
#include "storage/records.h"
#include "tessera/v1/admin.pb.h"
#include "tessera/v1/common.pb.h"

namespace tessera {

// Reads (or makes) the request ID and echoes it as `x-request-id` initial metadata.
RequestMeta MetaFrom(grpc::ServerContext* context);

// The `authorization: Bearer <token>` credential of the call (with `x-api-secret` for a service
// token), authenticated: a refusal is counted in `metrics`, the caller noted in `calls` for the
// call's log line.
absl::StatusOr<Principal> AuthenticateCall(grpc::ServerContext* context, const RequestMeta& meta,
                                           TokenLogic& tokens, ServiceMetrics& metrics,
                                           CallNotes& calls);

// Whether the call carries `authorization` metadata at all.
bool HasAuthorization(grpc::ServerContext* context);
// Whether the call's connection presented a client certificate that TLS verified.
bool HasVerifiedClientCertificate(grpc::ServerContext* context);

// The status to send. A lockout (TooManyAttempts) also sets `retry-after` trailing metadata.
grpc::Status ToGrpcStatus(grpc::ServerContext* context, const absl::Status& status,
                          const RequestMeta& meta, absl::string_view method);

void ToProto(const Account& account, const Organization& org, tessera::v1::Account* out);
void ToProto(const Organization& org, tessera::v1::Organization* out);
void ToProto(const AuditEvent& event, tessera::v1::AuditEvent* out);
// Never a key, a secret or a digest: ApiKeyInfo has none.
void ToProto(const ApiKeyInfo& key, tessera::v1::ApiKey* out);

}  // namespace tessera

#endif  // TESSERA_SERVICES_GRPC_EDGE_H_
