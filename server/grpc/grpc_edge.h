// GrpcEdge: where a gRPC call meets the logic, done once per call for every handler. It makes
// the CallContext (request ID, echoed as `x-request-id`; peer; the `authorization` and
// `x-api-secret` metadata; whether TLS verified a client certificate; deadline), notes who the
// caller turned out to be for the call's log line, and turns the logic's absl::Status into the
// grpc::Status sent, counting a refused credential on the way. INTERNAL and UNAVAILABLE details
// are logged with the request ID and never sent to the caller.
//
//   CallContext call = edge_.Begin(context);
//   auto caller = edge_.Caller(context, call);
//   if (!caller.ok()) return edge_.Finish(context, call, caller.status(), "Revoke");
#ifndef TESSERA_SERVER_GRPC_GRPC_EDGE_H_
#define TESSERA_SERVER_GRPC_GRPC_EDGE_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/grpc/call_notes.h"
#include "server/service_metrics.h"
#include "services/call_context.h"
#include "services/credential_check.h"
#include "services/principal.h"
#include "storage/api_key_store.h"
#include "storage/records.h"
#include "tessera/v1/admin.pb.h"
#include "tessera/v1/common.pb.h"

namespace tessera {

class GrpcEdge {
 public:
  // `mutual_tls`: the server asks for client certificates, so the edge reads what TLS verified.
  GrpcEdge(CredentialCheck& checks, ServiceMetrics& metrics, CallNotes& notes, bool mutual_tls)
      : checks_(checks), metrics_(metrics), notes_(notes), mutual_tls_(mutual_tls) {}

  // The call as the logic sees it. Echoes the request ID as initial metadata.
  CallContext Begin(grpc::ServerContextBase* context) const;
  // The caller, authenticated by the logic from the call's credential, and noted.
  absl::StatusOr<Principal> Caller(grpc::ServerContextBase* context, const CallContext& call);
  // Notes who the call acted for (a caller, or the principal a login logged in).
  void Note(grpc::ServerContextBase* context, absl::string_view org_id,
            absl::string_view account_id);
  // The status to send: counts a refusal the logic marked (ServiceMetrics::Refused); a lockout
  // (TooManyAttempts) also sets `retry-after` trailing metadata.
  grpc::Status Finish(grpc::ServerContextBase* context, const CallContext& call,
                      const absl::Status& status, absl::string_view method);

  ServiceMetrics& metrics() { return metrics_; }

 private:
  CredentialCheck& checks_;
  ServiceMetrics& metrics_;
  CallNotes& notes_;
  const bool mutual_tls_;
};

void ToProto(const Account& account, const Organization& org, tessera::v1::Account* out);
void ToProto(const Organization& org, tessera::v1::Organization* out);
void ToProto(const AuditEvent& event, tessera::v1::AuditEvent* out);
// Never a key, a secret or a digest: ApiKeyInfo has none.
void ToProto(const ApiKeyInfo& key, tessera::v1::ApiKey* out);

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_GRPC_EDGE_H_
