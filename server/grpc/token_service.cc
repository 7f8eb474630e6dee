#include "server/grpc/token_service.h"

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
grpc::Status TokenServiceImpl::Answer(grpc::ServerContext* context, const CallContext& call,
                                      const absl::StatusOr<IssuedTokens>& issued,
                                      Response* response, absl::string_view method) {
  if (!issued.ok()) return edge_.Finish(context, call, issued.status(), method);
  edge_.metrics().Issued(issued->grant);  // the one place this face counts what it issued
  edge_.Note(context, issued->org.id, issued->account.id);
  FillTokens(*issued, response);
  return grpc::Status::OK;
}

grpc::Status TokenServiceImpl::IssueToken(grpc::ServerContext* context,
                                          const v1::IssueTokenRequest* request,
                                          v1::IssueTokenResponse* response) {
  CallContext call = edge_.Begin(context);
  std::vector<std::string> scopes(request->scopes().begin(), request->scopes().end());
  switch (request->grant_case()) {
    case v1::IssueTokenRequest::kServiceToken: {
      KeyLogin login{.key = request->service_token().token(),
                     .secret = request->service_token().secret(),
                     .scopes = std::move(scopes),
                     .audience = request->audience()};
      return Answer(context, call,
                    sessions_.LoginWithApiKey(login, ApiKeyKind::kServiceToken, call), response,
                    "IssueToken");
    }
    case v1::IssueTokenRequest::kApiKey: {
      KeyLogin login{.key = request->api_key().key(),
                     .scopes = std::move(scopes),
                     .audience = request->audience()};
      return Answer(context, call, sessions_.LoginWithApiKey(login, ApiKeyKind::kUserToken, call),
                    response, "IssueToken");
    }
    case v1::IssueTokenRequest::kPassword: {
      const auto& g = request->password();
      PasswordLogin login{.org_slug = g.org_slug(),
                          .username = g.username(),
                          .password = g.password(),
                          .scopes = std::move(scopes),
                          .audience = request->audience()};
      return Answer(context, call, sessions_.LoginWithPassword(login, call), response,
                    "IssueToken");
    }
    default:
      return edge_.Finish(
          context, call,
          absl::InvalidArgumentError("grant: one of password, service_token, api_key"),
          "IssueToken");
  }
}

grpc::Status TokenServiceImpl::Refresh(grpc::ServerContext* context,
                                       const v1::RefreshRequest* request,
                                       v1::RefreshResponse* response) {
  CallContext call = edge_.Begin(context);
  return Answer(context, call, sessions_.Refresh(request->refresh_token(), call), response,
                "Refresh");
}

grpc::Status TokenServiceImpl::Revoke(grpc::ServerContext* context,
                                      const v1::RevokeRequest* request, v1::RevokeResponse*) {
  CallContext call = edge_.Begin(context);
  auto fail = [&](const absl::Status& s) { return edge_.Finish(context, call, s, "Revoke"); };
  auto caller = edge_.Caller(context, call);
  if (!caller.ok()) return fail(caller.status());
  RevokeTarget target;
  switch (request->target_case()) {
    case v1::RevokeRequest::kToken:
      target = {RevokeTarget::kToken, request->token()};
      break;
    case v1::RevokeRequest::kAccountId:
      target = {RevokeTarget::kAccount, request->account_id()};
      break;
    case v1::RevokeRequest::kApiKeyId:
      target = {RevokeTarget::kApiKey, request->api_key_id()};
      break;
    default:
      return fail(absl::InvalidArgumentError("target: one of token, api_key_id, account_id"));
  }
  auto revoked = revocation_.Revoke(*caller, target, call);
  if (!revoked.ok()) return fail(revoked.status());
  edge_.metrics().Revoked(*revoked);
  return grpc::Status::OK;
}

grpc::Status TokenServiceImpl::Introspect(grpc::ServerContext* context,
                                          const v1::IntrospectRequest* request,
                                          v1::IntrospectResponse* response) {
  CallContext call = edge_.Begin(context);
  auto fail = [&](const absl::Status& s) { return edge_.Finish(context, call, s, "Introspect"); };
  auto caller = introspection_.Caller(call);
  if (!caller.ok()) return fail(caller.status());
  if (caller->has_value()) edge_.Note(context, (*caller)->org_id, (*caller)->account_id);
  auto result = introspection_.Introspect(call, caller->has_value() ? &**caller : nullptr,
                                          request->token(), request->secret());
  if (!result.ok()) return fail(result.status());
  edge_.metrics().Introspected(result->active);
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
  CallContext call = edge_.Begin(context);
  auto fail = [&](const absl::Status& s) { return edge_.Finish(context, call, s, "Rotate"); };
  auto caller = edge_.Caller(context, call);
  if (!caller.ok()) return fail(caller.status());
  absl::StatusOr<Rotation> rotated;
  switch (request->target_case()) {
    case v1::RotateRequest::kServiceAccountPassword:
      rotated = rotation_.ServiceAccountPassword(*caller, call,
                                                 request->service_account_password().account_id());
      break;
    case v1::RotateRequest::kServiceTokenSecret:
      rotated =
          rotation_.ServiceTokenSecret(*caller, call, request->service_token_secret().api_key_id(),
                                       request->service_token_secret().overlap_seconds());
      break;
    case v1::RotateRequest::kSigningKey:
      rotated = rotation_.SigningKey(*caller, call);
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
  CallContext call = edge_.Begin(context);
  auto caller = edge_.Caller(context, call);
  if (!caller.ok()) return edge_.Finish(context, call, caller.status(), "GetJwks");
  for (const PublicJwk& k : keys_.Jwks()) {
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
  response->set_jwks_json(keys_.JwksJson());
  return grpc::Status::OK;
}

}  // namespace tessera
