// SnapshotStore: the reads that fill a replica's introspection snapshot — everything at once
// (start-up, resynchronization after a lost feed) or one account after a change to it.
#ifndef TESSERA_STORAGE_SNAPSHOT_STORE_H_
#define TESSERA_STORAGE_SNAPSHOT_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/api_key_store.h"
#include "storage/records.h"

namespace tessera {

// A revoked access token (id = jti; expires_at is its expiry plus the leeway) or refresh family
// (id = family ID; expires_at is the family's absolute end).
struct RevokedEntry {
  std::string org_id;
  std::string id;
  absl::Time expires_at;
};

// A live (unrevoked) API key as introspection needs it: found by the digest of the presented key.
struct ApiKeyCredential {
  std::string id;
  std::string org_id;
  std::string account_id;
  ApiKeyKind kind = ApiKeyKind::kUserToken;
  std::string digest;
  std::optional<ScopeSet> scopes;  // nullopt: inherit the user's current permissions
  std::string secret_digest;       // service tokens
  std::string previous_secret_digest;
  absl::Time previous_valid_until = absl::InfinitePast();
  absl::Time expires_at = absl::InfiniteFuture();
  // Too many wrong secrets: every secret is refused until then (ThrottleStore).
  absl::Time secret_locked_until = absl::InfinitePast();
};

struct SnapshotData {
  std::vector<AccountPermissions> accounts;
  std::vector<ApiKeyCredential> api_keys;
  std::vector<RevokedEntry> access_tokens;
  std::vector<RevokedEntry> families;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // Every account, every live API key, the access-token revocations that still matter at `now`, and
  // the revoked families that ended less than `family_tail` before `now` (the access tokens a
  // family minted outlive it by up to a token lifetime), read in one transaction.
  virtual absl::StatusOr<SnapshotData> LoadAll(absl::Time now, absl::Duration family_tail) = 0;
  // nullopt when the account does not exist (in that org).
  virtual absl::StatusOr<std::optional<AccountPermissions>> LoadAccount(
      absl::string_view org_id, absl::string_view account_id) = 0;
  // nullopt when the key does not exist (in that org), is revoked, or expired before `now`.
  virtual absl::StatusOr<std::optional<ApiKeyCredential>> LoadApiKey(absl::string_view org_id,
                                                                     absl::string_view id,
                                                                     absl::Time now) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_SNAPSHOT_STORE_H_
