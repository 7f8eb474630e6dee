#include "server/grpc/grpc_edge.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "server/grpc/request_id.h"
#include "services/login_guard.h"

namespace tessera {
namespace {

// The first value of metadata `key`; nullopt when the call carries none.
std::optional<std::string> FirstMetadata(grpc::ServerContextBase* context, const char* key) {
  auto it = context->client_metadata().find(key);
  if (it == context->client_metadata().end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t us = absl::ToUnixMicros(t);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

}  // namespace

CallContext GrpcEdge::Begin(grpc::ServerContextBase* context) const {
  CallContext call;
  call.request_id = RequestIdFor(context->client_metadata());
  call.peer = context->peer();
  call.authorization = FirstMetadata(context, "authorization");
  // A service token's secret travels in its own metadata entry.
  call.api_secret = FirstMetadata(context, "x-api-secret").value_or("");
  if (mutual_tls_) {
    std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    // TLS sets the peer identity only from a client certificate that verified against the CA.
    call.client_certificate_verified = auth != nullptr && auth->IsPeerAuthenticated() &&
                                       !auth->FindPropertyValues("x509_pem_cert").empty();
    if (call.client_certificate_verified) {
      for (const grpc::string_ref& id : auth->GetPeerIdentity()) {
        if (!call.client_certificate_identity.empty()) call.client_certificate_identity += ",";
        call.client_certificate_identity.append(id.data(), id.size());
      }
    }
  }
  call.deadline = absl::FromChrono(context->deadline());
  context->AddInitialMetadata("x-request-id", call.request_id);
  return call;
}

absl::StatusOr<Principal> GrpcEdge::Caller(grpc::ServerContextBase* context,
                                           const CallContext& call) {
  auto caller = checks_.AuthenticateCaller(call);
  if (caller.ok()) Note(context, caller->org_id, caller->account_id);
  return caller;
}

void GrpcEdge::Note(grpc::ServerContextBase* context, absl::string_view org_id,
                    absl::string_view account_id) {
  notes_.Record(context, org_id, account_id);
}

grpc::Status GrpcEdge::Finish(grpc::ServerContextBase* context, const CallContext& call,
                              const absl::Status& status, absl::string_view method) {
  if (status.ok()) return grpc::Status::OK;
  metrics_.Refused(status);  // the one place this face counts a refused credential
  if (auto seconds = RetryAfterSeconds(status)) {
    context->AddTrailingMetadata("retry-after", std::to_string(*seconds));
  }
  auto code = static_cast<grpc::StatusCode>(status.code());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      Log(LogLevel::kError, "rpc_internal_error",
          {{"request_id", call.request_id},
           {"method", std::string(method)},
           {"error", std::string(status.message())}});
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat("internal error (request id ", call.request_id, ")"));
    case absl::StatusCode::kUnavailable:
      Log(LogLevel::kWarning, "rpc_unavailable",
          {{"request_id", call.request_id},
           {"method", std::string(method)},
           {"error", std::string(status.message())}});
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "temporarily unavailable (database unreachable); retry");
    case absl::StatusCode::kAborted:
      return grpc::Status(grpc::StatusCode::ABORTED, "conflicting concurrent write; retry");
    default:
      return grpc::Status(code, std::string(status.message()));
  }
}

void ToProto(const Account& a, const Organization& org, tessera::v1::Account* out) {
  out->set_id(a.id);
  out->set_org_id(a.org_id);
  out->set_org_slug(org.slug);
  out->set_org_name(org.name);
  out->set_username(a.username);
  out->set_email(a.email);
  out->set_kind(a.kind == AccountKind::kService ? tessera::v1::ACCOUNT_KIND_SERVICE
                                                : tessera::v1::ACCOUNT_KIND_USER);
  out->set_disabled(a.disabled);
  for (const auto& r : a.roles) out->add_roles(r);
  SetTimestamp(a.created_at, out->mutable_created_at());
}

void ToProto(const Organization& org, tessera::v1::Organization* out) {
  out->set_id(org.id);
  out->set_slug(org.slug);
  out->set_name(org.name);
  SetTimestamp(org.created_at, out->mutable_created_at());
}

void ToProto(const AuditEvent& e, tessera::v1::AuditEvent* out) {
  out->set_id(std::to_string(e.id));
  SetTimestamp(e.entry.at, out->mutable_time());
  out->set_actor_id(e.entry.actor_id);
  out->set_action(e.entry.action);
  out->set_target_type(e.entry.target_type);
  out->set_target_id(e.entry.target_id);
  out->set_peer(e.entry.peer);
  out->set_request_id(e.entry.request_id);
  out->set_details_json(e.entry.details_json);
}

void ToProto(const ApiKeyInfo& k, tessera::v1::ApiKey* out) {
  out->set_id(k.id);
  out->set_prefix(k.display_prefix);
  out->set_name(k.name);
  out->set_kind(k.kind == ApiKeyKind::kServiceToken ? tessera::v1::API_KEY_KIND_SERVICE_TOKEN
                                                    : tessera::v1::API_KEY_KIND_USER_TOKEN);
  if (k.scopes) {
    for (const auto& s : k.scopes->items()) out->add_scopes(s);
  }
  if (k.expires_at) SetTimestamp(*k.expires_at, out->mutable_expires_at());
  SetTimestamp(k.created_at, out->mutable_created_at());
  if (k.last_used_at) SetTimestamp(*k.last_used_at, out->mutable_last_used_at());
  out->set_revoked(k.revoked_at.has_value());
  out->set_account_id(k.account_id);
}

}  // namespace tessera
