// RevocationStore: revoking before expiry — access tokens by jti, refresh families, and whole
// accounts ("log out everywhere"). Introspection reads the result from the snapshot, not here.
#ifndef TESSERA_STORAGE_REVOCATION_STORE_H_
#define TESSERA_STORAGE_REVOCATION_STORE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

// Whose a refresh token is, found by its digest.
struct RefreshTokenOwner {
  std::string org_id;
  std::string account_id;
  std::string family_id;
};

class RevocationStore {
 public:
  virtual ~RevocationStore() = default;

  // Idempotent: revoking a revoked jti succeeds and writes nothing.
  virtual absl::Status RevokeAccessToken(absl::string_view org_id, absl::string_view jti,
                                         absl::Time expires_at, absl::Time now, AuditActor actor,
                                         Committed* committed) = 0;
  virtual absl::StatusOr<std::optional<RefreshTokenOwner>> FindRefreshToken(
      absl::string_view digest) = 0;
  // Revokes every refresh token of the family (and so the access tokens minted from it).
  virtual absl::Status RevokeFamily(absl::string_view org_id, absl::string_view family_id,
                                    absl::Time now, AuditActor actor, Committed* committed) = 0;
  // Every family of the account, and its access tokens issued up to `now`. NOT_FOUND when the
  // account is not in the org.
  virtual absl::Status RevokeAccount(absl::string_view org_id, absl::string_view account_id,
                                     absl::Time now, AuditActor actor, Committed* committed) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_REVOCATION_STORE_H_
