// RevocationLogic: what Revoke does (RFC 7009 and "log out everywhere"). Routes a presented
// token by its shape (an API key, a refresh token's family, an access token's jti), decides
// whether the caller may revoke it, and records the revocation; a revocation wins every race
// with a concurrent refresh or login (see RevocationStore). The answer names what was revoked,
// which is what the faces count.
//
//   auto revoked = revocation.Revoke(caller, {.kind = RevokeTarget::kToken, .value = t}, call);
//   if (revoked.ok()) metrics.Revoked(*revoked);
#ifndef TESSERA_SERVICES_REVOCATION_LOGIC_H_
#define TESSERA_SERVICES_REVOCATION_LOGIC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/secret_digest.h"
#include "services/api_key_logic.h"
#include "services/auth_snapshot.h"
#include "services/call_context.h"
#include "services/credential_check.h"
#include "services/principal.h"
#include "storage/revocation_store.h"

namespace tessera {

struct RevokeTarget {
  enum Kind { kToken, kAccount, kApiKey };
  Kind kind = kToken;
  std::string value;  // the token as presented, an account ID or an API key ID
};

// What a successful Revoke revoked (tessera_revocations_total{kind}).
enum class RevokedKind { kAccessToken, kRefreshFamily, kApiKey, kAccount };

class RevocationLogic {
 public:
  // `leeway`: how long past its exp an access token's jti is kept revoked (the verifiers' leeway).
  RevocationLogic(const Clock& clock, absl::Duration leeway, const SecretDigester& digester,
                  RevocationStore& revocations, AuthSnapshot& snapshot, CredentialCheck& checks,
                  ApiKeyLogic& api_keys);

  // Unknown, malformed or expired tokens succeed (RFC 7009). PERMISSION_DENIED for another
  // account's token, key or sessions without tokens:revoke (API keys: api_keys:write) and every
  // scope that account holds, or for another organization's.
  absl::StatusOr<RevokedKind> Revoke(const Principal& caller, const RevokeTarget& target,
                                     const CallContext& call);

 private:
  // An access token (its jti until it expires) or a refresh token (its family).
  absl::Status RevokeToken(const Principal& caller, absl::string_view token,
                           const CallContext& call);
  // "Log out everywhere": every family and every access token of the account issued so far.
  absl::Status RevokeAccount(const Principal& caller, absl::string_view account_id,
                             const CallContext& call);

  const Clock& clock_;
  absl::Duration leeway_;
  const SecretDigester& digester_;
  RevocationStore& revocations_;
  AuthSnapshot& snapshot_;
  CredentialCheck& checks_;
  ApiKeyLogic& api_keys_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_REVOCATION_LOGIC_H_
