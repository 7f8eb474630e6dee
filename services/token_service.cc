#include "services/token_service.h"

#include <optional>

#include "core/credentials.h"
#include "services/authority.h"
#include "services/grpc_edge.h"

namespace tessera {
namespace {

// IssueTokenResponse and RefreshResponse carry the same fields.
template <typename Response>
void FillTokens(const IssuedTokens& issued, Response* response) {
  response->set_access_token(issued.access_token);
  response->set_token_type("Bearer");
  response->set_expires_in(issued.expires_in);
  response->set_refresh_token(issued.refresh_token);
  for (const auto& s : issued.scopes.items()) response->add_scopes(s);
  ToProto(issued.account, issued.org, response->mutable_account());
}

}  // namespace

template <typename Response>
grpc::Status TokenServiceImpl::Answer(grpc::ServerContext* context, const IssuedTokens& issued,
                                      Response* response) {
  metrics_.Issued(issued.grant);  // the one place a face counts what it issued
  calls_.Record(context, issued.org.id, issued.account.id);
  FillTokens(issued, response);
  return grpc::Status::OK;
}

grpc::Status TokenServiceImpl::IssueToken(grpc::ServerContext* context,
                                          const v1::IssueTokenRequest* request,
                                          v1::IssueTokenResponse* response) {
  RequestMeta meta = MetaFrom(context);
  auto fail = [&](const absl::Status& s) { return ToGrpcStatus(context, s, meta, "IssueToken"); };
  std::vector<std::string> scopes(request->scopes().begin(), request->scopes().end());
  if (request->grant_case() == v1::IssueTokenRequest::kServiceToken ||
      request->grant_case() == v1::IssueTokenRequest::kApiKey) {
    bool service = request->grant_case() == v1::IssueTokenRequest::kServiceToken;
    KeyLogin login{.key = service ? request->service_token().token() : request->api_key().key(),
                   .secret = service ? request->service_token().secret() : "",
                   .scopes = std::move(scopes),
                   .audience = request->audience()};
    auto issued = logic_.LoginWithApiKey(
        login, service ? ApiKeyKind::kServiceToken : ApiKeyKind::kUserToken, meta);
    if (!issued.ok()) {
      metrics_.AuthFailure(issued.status(), "invalid_credentials");
      return fail(issued.status());
    }
    return Answer(context, *issued, response);
  }
  if (request->grant_case() != v1::IssueTokenRequest::kPassword) {
    return fail(absl::InvalidArgumentError("grant: one of password, service_token, api_key"));
  }
  const auto& g = request->password();
  PasswordLogin login{.org_slug = g.org_slug(),
                      .username = g.username(),
                      .password = g.password(),
                      .scopes = std::move(scopes),
                      .audience = request->audience()};
  auto issued = logic_.LoginWithPassword(login, meta);
  if (!issued.ok()) {
    metrics_.AuthFailure(issued.status(), "invalid_credentials");
    return fail(issued.status());
  }
  return Answer(context, *issued, response);
}

grpc::Status TokenServiceImpl::Refresh(grpc::ServerContext* context,
                                       const v1::RefreshRequest* request,
                                       v1::RefreshResponse* response) {
  RequestMeta meta = MetaFrom(context);
  auto issued = logic_.Refresh(request->refresh_token(), meta);
  if (!issued.ok()) {
    if (IsRefreshReuse(issued.status())) metrics_.RefreshReuse();
    metrics_.AuthFailure(issued.status(), "invalid_refresh_token");
    return ToGrpcStatus(context, issued.status(), meta, "Refresh");
  }
  return Answer(context, *issued, response);
}

grpc::Status TokenServiceImpl::Revoke(grpc::ServerContext* context,
                                      const v1::RevokeRequest* request, v1::RevokeResponse*) {
  RequestMeta meta = MetaFrom(context);
  auto fail = [&](const absl::Status& s) { return ToGrpcStatus(context, s, meta, "Revoke"); };
  auto caller = AuthenticateCall(context, meta, logic_, metrics_, calls_);
  if (!caller.ok()) return fail(caller.status());
  absl::Status revoked;
  ServiceMetrics::Revocation kind = ServiceMetrics::Revocation::kAccessToken;
  switch (request->target_case()) {
    case v1::RevokeRequest::kToken:
      if (!ApiKeyPrefix(request->token()).empty()) {
        kind = ServiceMetrics::Revocation::kApiKey;
        revoked = api_keys_.RevokeByKey(*caller, meta, request->token());
      } else {
        if (IsRefreshTokenFormat(request->token())) {
          kind = ServiceMetrics::Revocation::kRefreshFamily;
        }
        revoked = logic_.RevokeToken(*caller, request->token(), meta);
      }
      break;
    case v1::RevokeRequest::kAccountId:
      kind = ServiceMetrics::Revocation::kAccount;
      revoked = logic_.RevokeAccount(*caller, request->account_id(), meta);
      break;
    case v1::RevokeRequest::kApiKeyId:
      kind = ServiceMetrics::Revocation::kApiKey;
      revoked = api_keys_.RevokeById(*caller, meta, request->api_key_id());
      break;
    default:
      return fail(absl::InvalidArgumentError("target: one of token, api_key_id, account_id"));
  }
  if (revoked.ok()) metrics_.Revoked(kind);
  return fail(revoked);
}

grpc::Status TokenServiceImpl::Introspect(grpc::ServerContext* context,
                                          const v1::IntrospectRequest* request,
                                          v1::IntrospectResponse* response) {
  RequestMeta meta = MetaFrom(context);
  auto fail = [&](const absl::Status& s) { return ToGrpcStatus(context, s, meta, "Introspect"); };
  // With a bearer credential the usual rules hold; without one, a verified client certificate
  // is enough when the operator chose --introspect_auth=mtls.
  std::optional<Principal> caller;
  if (!(introspect_by_certificate_ && !HasAuthorization(context) &&
        HasVerifiedClientCertificate(context))) {
    auto authenticated = AuthenticateCall(context, meta, logic_, metrics_, calls_);
    if (!authenticated.ok()) return fail(authenticated.status());
    if (auto s = RequireScope(*authenticated, kScopeTokensIntrospect); !s.ok()) return fail(s);
    caller = *std::move(authenticated);
  }
  auto result =
      logic_.Introspect(request->token(), request->secret(), meta, caller ? &*caller : nullptr);
  if (!result.ok()) return fail(result.status());
  metrics_.Introspected(result->active);
  if (!result->active) return grpc::Status::OK;  // inactive: nothing else is said
  const AccessTokenClaims& c = result->claims;
  response->set_active(true);
  response->set_sub(c.sub);
  response->set_org_id(c.org_id);
  for (const auto& s : c.scopes) response->add_scopes(s);
  response->set_client_id(c.client_id);
  response->set_username(result->username);
  response->set_token_type(result->token_type);
  response->set_exp(c.exp);
  response->set_iat(c.iat);
  response->set_nbf(c.nbf);
  response->set_jti(c.jti);
  response->set_iss(c.iss);
  for (const auto& a : c.aud) response->add_aud(a);
  return grpc::Status::OK;
}

grpc::Status TokenServiceImpl::Rotate(grpc::ServerContext* context,
                                      const v1::RotateRequest* request,
                                      v1::RotateResponse* response) {
  RequestMeta meta = MetaFrom(context);
  auto fail = [&](const absl::Status& s) { return ToGrpcStatus(context, s, meta, "Rotate"); };
  auto caller = AuthenticateCall(context, meta, logic_, metrics_, calls_);
  if (!caller.ok()) return fail(caller.status());
  absl::StatusOr<Rotation> rotated;
  switch (request->target_case()) {
    case v1::RotateRequest::kServiceAccountPassword:
      rotated = rotation_.ServiceAccountPassword(*caller, meta,
                                                 request->service_account_password().account_id());
      break;
    case v1::RotateRequest::kServiceTokenSecret:
      rotated =
          rotation_.ServiceTokenSecret(*caller, meta, request->service_token_secret().api_key_id(),
                                       request->service_token_secret().overlap_seconds());
      break;
    case v1::RotateRequest::kSigningKey:
      rotated = rotation_.SigningKey(*caller, meta);
      break;
    default:
      return fail(absl::InvalidArgumentError(
          "target: one of service_account_password, service_token_secret, signing_key"));
  }
  if (!rotated.ok()) return fail(rotated.status());
  response->set_new_password(rotated->new_password);
  response->set_new_secret(rotated->new_secret);
  response->set_kid(rotated->kid);
  response->set_previous_valid_until(absl::ToUnixSeconds(rotated->previous_valid_until));
  return grpc::Status::OK;
}

grpc::Status TokenServiceImpl::GetJwks(grpc::ServerContext* context, const v1::GetJwksRequest*,
                                       v1::GetJwksResponse* response) {
  RequestMeta meta = MetaFrom(context);
  auto caller = AuthenticateCall(context, meta, logic_, metrics_, calls_);
  if (!caller.ok()) return ToGrpcStatus(context, caller.status(), meta, "GetJwks");
  for (const PublicJwk& k : logic_.Jwks()) {
    auto* out = response->add_keys();
    out->set_kid(k.kid);
    out->set_kty(k.kty);
    out->set_alg(k.alg);
    out->set_use(k.use);
    out->set_crv(k.crv);
    out->set_x(k.x);
    out->set_y(k.y);
    out->set_n(k.n);
    out->set_e(k.e);
  }
  response->set_jwks_json(logic_.JwksJson());
  return grpc::Status::OK;
}

}  // namespace tessera
