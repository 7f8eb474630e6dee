// ApiKeyStore: user API tokens and service tokens, stored as peppered digests (the key and the
// secret themselves are never handed to storage). Every write is audited in its transaction and
// sent on the change feed so that every replica's snapshot follows it.
#ifndef TESSERA_STORAGE_API_KEY_STORE_H_
#define TESSERA_STORAGE_API_KEY_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/scopes.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

enum class ApiKeyKind { kUserToken, kServiceToken };

// What listings show: never the key, the secret or a digest.
struct ApiKeyInfo {
  std::string id;
  std::string org_id;
  std::string account_id;
  ApiKeyKind kind = ApiKeyKind::kUserToken;
  std::string name;
  std::string display_prefix;
  // A service token's scopes; for a user token nullopt (its user's permissions, whatever they
  // are) or, when it was made for its user by someone else, its maker's scopes then, as a cap.
  std::optional<ScopeSet> scopes;
  absl::Time created_at;
  std::optional<absl::Time> expires_at;
  std::optional<absl::Time> last_used_at;
  std::optional<absl::Time> revoked_at;
};

struct NewApiKeyRow {
  std::string org_id;
  std::string account_id;
  ApiKeyKind kind = ApiKeyKind::kUserToken;
  std::string name;
  std::string display_prefix;
  std::string digest;
  std::optional<ScopeSet> scopes;
  std::string secret_digest;  // service tokens only
  absl::Time now;
  std::optional<absl::Time> expires_at;
};

// A new service-token secret and until when the one it replaces keeps working (== `now` for
// "at once").
struct SecretRotation {
  std::string org_id;
  std::string id;
  std::string secret_digest;
  absl::Time now;
  absl::Time previous_valid_until;
};

struct KeyUse {
  std::string org_id;
  std::string id;
  absl::Time at;
};

class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // NOT_FOUND when the account does not exist in the org.
  virtual absl::StatusOr<ApiKeyInfo> Create(const NewApiKeyRow& row, AuditActor actor,
                                            Committed* committed) = 0;
  // The org's keys, newest first; only `account_id`'s when it is not empty.
  virtual absl::StatusOr<std::vector<ApiKeyInfo>> List(absl::string_view org_id,
                                                       absl::string_view account_id) = 0;
  virtual absl::StatusOr<std::optional<ApiKeyInfo>> Get(absl::string_view org_id,
                                                        absl::string_view id) = 0;
  // The key a digest belongs to, in whichever org (for revocation by the key itself).
  virtual absl::StatusOr<std::optional<ApiKeyInfo>> FindByDigest(absl::string_view digest) = 0;
  // Idempotent: revoking a revoked key changes nothing and writes no second audit row.
  virtual absl::Status Revoke(absl::string_view org_id, absl::string_view id, absl::Time now,
                              AuditActor actor, Committed* committed) = 0;
  // NOT_FOUND for an unknown or revoked key, FAILED_PRECONDITION for a user token.
  virtual absl::Status RotateSecret(const SecretRotation& rotation, AuditActor actor,
                                    Committed* committed) = 0;
  // Records when keys were last used: one statement for the batch, never moving a time back.
  virtual absl::Status RecordUse(const std::vector<KeyUse>& uses) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_API_KEY_STORE_H_
