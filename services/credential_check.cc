#include "services/credential_check.h"

#include "core/credentials.h"
#include "core/encoding.h"
#include "services/refusal.h"
#include "services/validation.h"

namespace tessera {

CredentialCheck::CredentialCheck(const Clock& clock, const KeyRing& keys, VerifyOptions verify,
                                 const SecretDigester& digester, const AuthSnapshot& snapshot,
                                 KeyUsage& key_usage, LoginGuard& guard)
    : clock_(clock),
      digester_(digester),
      snapshot_(snapshot),
      key_usage_(key_usage),
      guard_(guard),
      verifier_(keys, std::move(verify)) {}

absl::StatusOr<std::optional<CredentialCheck::ActiveToken>> CredentialCheck::AccessToken(
    absl::string_view token) {
  auto claims = verifier_.Verify(token, clock_.Now());
  if (!claims.ok()) return std::nullopt;
  if (!CheckId("sub", claims->sub).ok() || !CheckId("org_id", claims->org_id).ok()) {
    return std::nullopt;
  }
  auto account = snapshot_.ActiveAccount(*claims);
  if (!account.ok()) return account.status();
  if (*account == nullptr) return std::nullopt;
  ScopeSet token_scopes(claims->scopes.begin(), claims->scopes.end());
  ActiveToken out{.claims = *std::move(claims), .account = *std::move(account)};
  out.effective = token_scopes.IntersectHeld(out.account->scopes);
  return out;
}

absl::StatusOr<std::optional<CredentialCheck::ActiveCredential>> CredentialCheck::ApiKey(
    absl::string_view key, absl::string_view secret, const CallContext& call, bool peer_presents,
    const std::string* visible_org) {
  if (ApiKeyPrefix(key).empty()) return std::nullopt;
  auto found = snapshot_.ActiveApiKey(digester_.Digest(key));
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::nullopt;
  AuthSnapshot::ActiveKey& k = **found;
  // A caller that may not see the key learns nothing of it and moves none of its counters:
  // another organization cannot lock a tenant's service token out with wrong secrets.
  if (visible_org != nullptr && k.key->org_id != *visible_org) return std::nullopt;
  absl::Time now = clock_.Now();
  if (k.key->kind == ApiKeyKind::kServiceToken) {
    if (auto s = guard_.CheckSecret(*k.key, call, peer_presents); !s.ok()) return s;
    bool current = false, previous = false;
    if (IsApiSecretFormat(secret)) {
      std::string digest = digester_.Digest(secret);
      current = ConstantTimeEquals(digest, k.key->secret_digest);
      previous = !k.key->previous_secret_digest.empty() && now < k.key->previous_valid_until &&
                 ConstantTimeEquals(digest, k.key->previous_secret_digest);
    }
    if (!current && !previous) {
      guard_.SecretFailed(*k.key, call, peer_presents);
      return std::nullopt;
    }
  } else if (!secret.empty()) {
    return std::nullopt;  // a user token has no secret; sending one is a confused client
  }
  key_usage_.Note(k.key->org_id, k.key->id, now);
  ActiveCredential out{.key = std::move(k.key), .account = std::move(k.account)};
  out.effective =
      out.key->scopes ? out.key->scopes->IntersectHeld(out.account->scopes) : out.account->scopes;
  return out;
}

absl::StatusOr<Principal> CredentialCheck::AuthenticateCaller(const CallContext& call,
                                                              const std::string* visible_org) {
  static const std::string kNone;
  auto token = BearerCredential(call.authorization ? *call.authorization : kNone);
  auto caller = token.ok() ? AuthenticateBearer(*token, call.api_secret, call, visible_org)
                           : absl::StatusOr<Principal>(token.status());
  if (absl::IsUnauthenticated(caller.status())) {
    return MarkRefused(caller.status(), RefusalReason::kInvalidBearer);
  }
  return caller;
}

absl::StatusOr<Principal> CredentialCheck::AuthenticateBearer(absl::string_view token,
                                                              absl::string_view secret,
                                                              const CallContext& call,
                                                              const std::string* visible_org) {
  if (!ApiKeyPrefix(token).empty()) {
    auto active = ApiKey(token, secret, call, /*peer_presents=*/true, visible_org);
    if (!active.ok()) return active.status();
    if (!active->has_value()) return absl::UnauthenticatedError("invalid bearer credential");
    ActiveCredential& c = **active;
    return Principal{.org_id = c.key->org_id,
                     .account_id = c.key->account_id,
                     .client_id = c.key->id,
                     .username = c.account->username,
                     .scopes = std::move(c.effective),
                     .platform = c.account->org_platform};
  }
  auto active = AccessToken(token);
  if (!active.ok()) return active.status();
  if (!active->has_value()) return absl::UnauthenticatedError("invalid bearer credential");
  ActiveToken& t = **active;
  if (visible_org != nullptr && t.claims.org_id != *visible_org) {
    return absl::UnauthenticatedError("invalid bearer credential");
  }
  Principal p;
  p.org_id = t.claims.org_id;
  p.account_id = t.claims.sub;
  p.client_id = t.claims.client_id;
  p.username = t.account->username;
  p.scopes = std::move(t.effective);
  p.platform = t.account->org_platform;
  return p;
}

}  // namespace tessera
