#include "services/introspection_logic.h"

#include "core/credentials.h"
#include "services/authority.h"

namespace tessera {

absl::StatusOr<std::optional<Principal>> RelayingCaller(CredentialCheck& checks,
                                                        const CallContext& call,
                                                        bool by_client_certificate) {
  if (by_client_certificate && !call.authorization.has_value() &&
      call.client_certificate_verified) {
    return std::optional<Principal>();
  }
  auto caller = checks.AuthenticateCaller(call);
  if (!caller.ok()) return caller.status();
  return std::optional<Principal>(*std::move(caller));
}

IntrospectionLogic::IntrospectionLogic(CredentialCheck& checks, IntrospectionPolicy policy)
    : checks_(checks), policy_(std::move(policy)) {}

absl::StatusOr<Introspection> IntrospectionLogic::Introspect(const CallContext& call,
                                                             const Principal* caller,
                                                             absl::string_view token,
                                                             absl::string_view secret) {
  if (caller != nullptr) {
    if (auto s = RequireScope(*caller, kScopeTokensIntrospect); !s.ok()) return s;
  }
  const std::string* visible_org =
      caller == nullptr || caller->platform ? nullptr : &caller->org_id;
  auto out = IntrospectIn(token, secret, call, visible_org);
  if (!out.ok() || !out->active || visible_org == nullptr) return out;
  if (out->claims.org_id != *visible_org) return Introspection{};  // not this caller's tenant
  return out;
}

absl::StatusOr<Introspection> IntrospectionLogic::IntrospectIn(absl::string_view token,
                                                               absl::string_view secret,
                                                               const CallContext& call,
                                                               const std::string* visible_org) {
  if (!ApiKeyPrefix(token).empty()) {
    auto active = checks_.ApiKey(token, secret, call, /*peer_presents=*/false, visible_org);
    Introspection out;
    if (absl::IsResourceExhausted(active.status())) return out;  // a locked key is not active
    if (!active.ok()) return active.status();
    if (!active->has_value()) return out;
    CredentialCheck::ActiveCredential& c = **active;
    out.active = true;
    out.claims.sub = c.key->account_id;
    out.claims.org_id = c.key->org_id;
    out.claims.client_id = c.key->id;
    out.claims.iss = policy_.issuer;
    out.claims.scopes = c.effective.ToVector();
    if (c.key->expires_at != absl::InfiniteFuture()) {
      out.claims.exp = absl::ToUnixSeconds(c.key->expires_at);
    }
    out.username = c.account->username;
    out.token_type = c.key->kind == ApiKeyKind::kServiceToken ? "service_token" : "api_key";
    return out;
  }
  auto active = checks_.AccessToken(token);
  if (!active.ok()) return active.status();
  Introspection out;
  if (!active->has_value()) return out;
  CredentialCheck::ActiveToken& t = **active;
  out.active = true;
  out.claims = std::move(t.claims);
  out.claims.scopes = t.effective.ToVector();
  out.username = t.account->username;
  out.token_type = "Bearer";
  return out;
}

}  // namespace tessera
