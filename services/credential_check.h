// CredentialCheck: whether a presented credential is live right now, and what it may do. An
// access token (its signature verified once per replica and cached, then the snapshot's
// revocations, its account's status and current scopes) or an API key (and, for a service
// token, its current or still-overlapping secret, throttled per key). Answers from memory; the
// one place that decides what a bearer credential is, for caller authentication, introspection
// and the key grants alike.
//
//   auto caller = checks.AuthenticateCaller(call);  // Principal or an error
#ifndef TESSERA_SERVICES_CREDENTIAL_CHECK_H_
#define TESSERA_SERVICES_CREDENTIAL_CHECK_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "core/key_ring.h"
#include "core/secret_digest.h"
#include "core/verified_token_cache.h"
#include "services/auth_snapshot.h"
#include "services/key_usage.h"
#include "services/login_guard.h"
#include "services/principal.h"

namespace tessera {

class CredentialCheck {
 public:
  CredentialCheck(const Clock& clock, const KeyRing& keys, VerifyOptions verify,
                  const SecretDigester& digester, const AuthSnapshot& snapshot, KeyUsage& key_usage,
                  LoginGuard& guard);

  // An access token that verifies, is not revoked, and whose account is enabled.
  struct ActiveToken {
    AccessTokenClaims claims;
    std::shared_ptr<const AccountPermissions> account;
    ScopeSet effective;  // the token's scopes intersected with the account's current ones
  };
  // nullopt: not active (for any reason). An error only when the answer cannot be known.
  absl::StatusOr<std::optional<ActiveToken>> AccessToken(absl::string_view token);

  // An API key (and, for a service token, its current or still-overlapping secret) that is
  // live, unexpired and whose account is enabled; notes the use for last_used_at.
  // RESOURCE_EXHAUSTED while the key (or, when `peer_presents`, the caller's address) is locked.
  // `visible_org` non-null: a key of another organization is unknown, and its counters stay.
  struct ActiveCredential {
    std::shared_ptr<const ApiKeyCredential> key;
    std::shared_ptr<const AccountPermissions> account;
    ScopeSet effective;  // a key's scopes ∩ the account's; an uncapped user token's: the account's
  };
  absl::StatusOr<std::optional<ActiveCredential>> ApiKey(absl::string_view key,
                                                         absl::string_view secret,
                                                         const CallContext& call,
                                                         bool peer_presents,
                                                         const std::string* visible_org);

  // The caller of a call, from the credential it presented (`authorization: Bearer <token>`:
  // an access token, a user API token, or a service token with `api_secret`). UNAUTHENTICATED,
  // marked RefusalReason::kInvalidBearer, unless it is active; RESOURCE_EXHAUSTED while a
  // service token or the caller's address is locked out for wrong secrets. `visible_org`
  // non-null (a proxy of one organization relaying its clients' requests): a credential of
  // another organization is unknown, and moves none of its counters.
  absl::StatusOr<Principal> AuthenticateCaller(const CallContext& call,
                                               const std::string* visible_org = nullptr);

  // The signature and times of an access token this service signed, revoked or not.
  absl::StatusOr<AccessTokenClaims> Verify(absl::string_view token, absl::Time now) {
    return verifier_.Verify(token, now);
  }

 private:
  absl::StatusOr<Principal> AuthenticateBearer(absl::string_view token, absl::string_view secret,
                                               const CallContext& call,
                                               const std::string* visible_org);

  const Clock& clock_;
  const SecretDigester& digester_;
  const AuthSnapshot& snapshot_;
  KeyUsage& key_usage_;
  LoginGuard& guard_;
  CachingVerifier verifier_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_CREDENTIAL_CHECK_H_
