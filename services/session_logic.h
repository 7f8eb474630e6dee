// SessionLogic: how a principal gets tokens. A password login (a session: an access token and
// a refresh-token family), a login with an API key or a service token (a short-lived access
// token only), and the refresh of a session. Each answer says which grant issued it, so the
// faces count it without knowing the logic's branches.
//
//   auto issued = sessions.LoginWithPassword({.org_slug = "acme", .username = "ann",
//                                             .password = pw}, call);
//   if (issued.ok()) Send(issued->access_token, issued->refresh_token);
#ifndef TESSERA_SERVICES_SESSION_LOGIC_H_
#define TESSERA_SERVICES_SESSION_LOGIC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/key_ring.h"
#include "core/password_hasher.h"
#include "core/secret_digest.h"
#include "core/worker_pool.h"
#include "services/auth_snapshot.h"
#include "services/call_context.h"
#include "services/credential_check.h"
#include "services/login_guard.h"
#include "storage/account_store.h"
#include "storage/audit_store.h"
#include "storage/refresh_token_store.h"

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

class SessionLogic {
 public:
  SessionLogic(const Clock& clock, TokenOptions options, const KeyRing& keys,
               const PasswordHasher& hasher, BoundedWorkerPool& password_pool,
               const SecretDigester& digester, AccountStore& accounts,
               RefreshTokenStore& refresh_tokens, AuditStore& audit, CredentialCheck& checks,
               LoginGuard& guard, AuthSnapshot& snapshot);

  absl::StatusOr<IssuedTokens> LoginWithPassword(const PasswordLogin& login,
                                                 const CallContext& call);
  // The api_key and service_token grants: a short-lived access token (no refresh token) whose
  // scopes are what the credential grants now, optionally narrowed. `kind` is the grant used:
  // a user token presented as a service token (or the reverse) is refused. Answered from memory
  // (a wrong service-token secret is counted in PostgreSQL; see LoginGuard).
  absl::StatusOr<IssuedTokens> LoginWithApiKey(const KeyLogin& login, ApiKeyKind kind,
                                               const CallContext& call);

  // Spends `refresh_token` for a new pair (one-time use, grace-window replay, reuse detection:
  // see RefreshTokenStore::Rotate). Every refusal is UNAUTHENTICATED "invalid refresh token".
  // `scopes` (OAuth's refresh with `scope`) narrows the new access token only; the family keeps
  // its scopes. A scope the family does not hold is INVALID_ARGUMENT "scopes: ...", found once
  // the token is spent: a retry within the grace window gets the same child.
  absl::StatusOr<IssuedTokens> Refresh(absl::string_view refresh_token, const CallContext& call,
                                       const std::vector<std::string>& scopes = {});

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
  // An auth.failed row: on the account the name matched, or (`matched` null) on the digest of
  // the unknown name.
  void AuditFailedLogin(const PasswordLogin& login, const LoginCandidate* matched,
                        absl::string_view name, const CallContext& call, absl::string_view reason);
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
  CredentialCheck& checks_;
  LoginGuard& guard_;
  AuthSnapshot& snapshot_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_SESSION_LOGIC_H_
