// TokenLogic: what TokenService does, free of gRPC so that tests can call it directly. Logs
// principals in, verifies bearer credentials, introspects tokens and publishes the JWKS. Every
// method returns absl::Status codes from DESIGN.md §2; the gRPC adapter only translates.
#ifndef TESSERA_SERVICES_TOKEN_LOGIC_H_
#define TESSERA_SERVICES_TOKEN_LOGIC_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "core/key_ring.h"
#include "core/password_hasher.h"
#include "core/secret_digest.h"
#include "core/verified_token_cache.h"
#include "core/worker_pool.h"
#include "services/auth_snapshot.h"
#include "services/credential_check.h"
#include "services/login_guard.h"
#include "services/principal.h"
#include "storage/account_store.h"
#include "storage/audit_store.h"
#include "storage/organization_store.h"
#include "storage/refresh_token_store.h"
#include "storage/revocation_store.h"

namespace tessera {

struct TokenOptions {
  std::string issuer = "tessera";
  absl::Duration access_token_ttl = absl::Seconds(900);
  absl::Duration refresh_token_ttl = absl::Hours(24 * 30);
  absl::Duration refresh_family_ttl = absl::Hours(24 * 90);
  // A spent refresh token presented again within this of its use gets the same child back.
  absl::Duration refresh_grace = absl::Seconds(10);
  absl::Duration leeway = absl::Seconds(10);
};

struct PasswordLogin {
  std::string org_slug;
  std::string username;  // or email
  std::string password;
  std::vector<std::string> scopes;  // narrow to these; empty = all held
  std::string audience;             // empty = the issuer
};

// IssueToken with an API key (`secret` empty) or a service token and its secret.
struct KeyLogin {
  std::string key;
  std::string secret;
  std::vector<std::string> scopes;  // narrow to these; empty = all the credential grants
  std::string audience;
};

// How a token was obtained: what the faces count it by (tessera_tokens_issued_total{grant}).
enum class IssueGrant { kPassword, kRefresh, kApiKey, kServiceToken };

struct IssuedTokens {
  IssueGrant grant = IssueGrant::kPassword;  // set by the logic that issued them
  std::string access_token;
  int64_t expires_in = 0;
  std::string refresh_token;
  ScopeSet scopes;
  Organization org;
  Account account;
};

// RFC 7662 answer. When `active` is false every other field is empty.
struct Introspection {
  bool active = false;
  AccessTokenClaims claims;  // scopes here are the effective (intersected) ones
  std::string username;
  std::string token_type;
};

class TokenLogic {
 public:
  TokenLogic(const Clock& clock, TokenOptions options, const KeyRing& keys,
             const PasswordHasher& hasher, BoundedWorkerPool& password_pool,
             const SecretDigester& digester, AccountStore& accounts,
             RefreshTokenStore& refresh_tokens, AuditStore& audit, OrganizationStore& orgs,
             RevocationStore& revocations, const AuthSnapshot& snapshot, CredentialCheck& checks,
             LoginGuard& guard);

  absl::StatusOr<IssuedTokens> LoginWithPassword(const PasswordLogin& login,
                                                 const RequestMeta& meta);
  // The api_key and service_token grants: a short-lived access token (no refresh token) whose
  // scopes are what the credential grants now, optionally narrowed. `kind` is the grant used:
  // a user token presented as a service token (or the reverse) is refused. Answered from memory
  // (a wrong service-token secret is counted in PostgreSQL; see LoginGuard).
  absl::StatusOr<IssuedTokens> LoginWithApiKey(const KeyLogin& login, ApiKeyKind kind,
                                               const RequestMeta& meta);

  // Spends `refresh_token` for a new pair (one-time use, grace-window replay, reuse detection:
  // see RefreshTokenStore::Rotate). Every refusal is UNAUTHENTICATED "invalid refresh token".
  absl::StatusOr<IssuedTokens> Refresh(absl::string_view refresh_token, const RequestMeta& meta);

  // Never an error for a bad token: inactive instead. Answers from memory (the verified-token
  // cache and the snapshot) and never waits on PostgreSQL; UNAVAILABLE only before the
  // snapshot's first load. `secret` is only for service tokens. The caller relays someone
  // else's credential, so its own address is not throttled for a wrong secret; the key is.
  // Tenants stay apart: a token of another organization than `caller`'s is inactive to it,
  // unless the caller belongs to a platform organization (a shared gateway). `caller` null: a
  // caller authenticated by client certificate alone (--introspect_auth=mtls), bound to no org.
  absl::StatusOr<Introspection> Introspect(absl::string_view token, absl::string_view secret,
                                           const RequestMeta& meta, const Principal* caller);

  // Authenticates a bearer credential for a call (CredentialCheck::AuthenticateBearer).
  absl::StatusOr<Principal> AuthenticateBearer(absl::string_view token, absl::string_view secret,
                                               const RequestMeta& meta);

  // RFC 7009: an access token (its jti until it expires) or a refresh token (its family).
  // Unknown, malformed or expired tokens succeed. PERMISSION_DENIED for another account's token
  // without tokens:revoke, or another organization's.
  absl::Status RevokeToken(const Principal& caller, absl::string_view token,
                           const RequestMeta& meta);
  // "Log out everywhere": every family and every access token of the account issued so far.
  absl::Status RevokeAccount(const Principal& caller, absl::string_view account_id,
                             const RequestMeta& meta);

  std::vector<PublicJwk> Jwks() const;
  std::string JwksJson() const;

  const TokenOptions& options() const { return options_; }

 private:
  // Scopes for a new token: all of `held`, or `requested` if each is held.
  static absl::StatusOr<ScopeSet> NarrowScopes(const ScopeSet& held,
                                               const std::vector<std::string>& requested);
  // Signs an access token issued at `issued_at` with ID `jti`.
  absl::StatusOr<std::string> MintAccessToken(const std::string& org_id,
                                              const std::string& account_id,
                                              const std::string& client_id, const ScopeSet& scopes,
                                              const std::string& audience, absl::Time issued_at,
                                              const std::string& jti, const std::string& sid);
  // Introspect for a token of `visible_org` (null: of any organization).
  absl::StatusOr<Introspection> IntrospectIn(absl::string_view token, absl::string_view secret,
                                             const RequestMeta& meta,
                                             const std::string* visible_org);
  // An auth.failed row: on the account the name matched, or (`matched` null) on the digest of
  // the unknown name.
  void AuditFailedLogin(const PasswordLogin& login, const LoginCandidate* matched,
                        absl::string_view name, const RequestMeta& meta, absl::string_view reason);
  // Identifies an unknown login name in an organization without holding it: peppered, folded.
  std::string UnknownNameDigest(absl::string_view org_slug, absl::string_view name) const;

  const Clock& clock_;
  TokenOptions options_;
  const KeyRing& keys_;
  const PasswordHasher& hasher_;
  BoundedWorkerPool& password_pool_;
  const SecretDigester& digester_;
  AccountStore& accounts_;
  RefreshTokenStore& refresh_tokens_;
  AuditStore& audit_;
  OrganizationStore& orgs_;
  RevocationStore& revocations_;
  const AuthSnapshot& snapshot_;
  CredentialCheck& checks_;
  LoginGuard& guard_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_TOKEN_LOGIC_H_
