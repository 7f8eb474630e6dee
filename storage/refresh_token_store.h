// RefreshTokenStore: refresh-token families (one per login), stored as digests only.
#ifndef TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_
#define TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

// One refresh: the presented token (by digest) and the child it would get. The child's digest is
// computed by the caller because the child token is derived from the parent (so that a retry of
// the parent can be answered with the same child without storing any token in plaintext).
struct RefreshRotation {
  std::string presented_digest;
  std::string child_digest;
  absl::Time now;
  absl::Duration grace;      // a spent parent presented within this of its use replays its child
  absl::Duration child_ttl;  // capped by the family's absolute lifetime
};

enum class RefreshOutcome {
  kRotated,      // the token was unused: it is spent now and the child was created
  kGraceReplay,  // the immediate parent again, within the grace window: the same child
  kReuse,        // a spent token outside the rules: the whole family is now revoked
  kInvalid,      // unknown, expired, revoked, or the account is disabled
};

struct RefreshResult {
  RefreshOutcome outcome = RefreshOutcome::kInvalid;
  std::string org_id;
  std::string account_id;
  std::string family_id;
  std::string child_id;
  absl::Time child_created_at;
  ScopeSet scopes;  // the family's scopes intersected with the account's current permissions
  std::string audience;
  // The account and its organization as the same transaction read them (for the response), so
  // that a Refresh costs one transaction. Set for every outcome but an unknown token.
  Account account;
  Organization org;
};

// Why a login got no session. Checked under the account's session lock, so a login that lost
// a race with a disabling, a password change or a "log out everywhere" gets none.
enum class NewFamilyRefusal {
  kNone,
  kAccountEnded,       // disabled (or gone) since the login read it
  kPasswordChanged,    // the password the login checked was replaced meanwhile
  kRevokedThisSecond,  // "log out everywhere" in the same second: its access token would be dead
};

struct NewFamily {
  std::string family_id;  // set when not refused
  NewFamilyRefusal refused = NewFamilyRefusal::kNone;
};

class RefreshTokenStore {
 public:
  virtual ~RefreshTokenStore() = default;
  // Starts a family with its first token, unless refused (nothing is written then).
  // `checked_password_hash` is the hash the login verified the password against. A family
  // started also clears the failed-login count of `throttle_subject` (ThrottleStore::Clear),
  // in the same transaction, when it is not empty.
  virtual absl::StatusOr<NewFamily> CreateFamily(const RefreshTokenRow& token,
                                                 absl::string_view checked_password_hash,
                                                 absl::string_view throttle_subject,
                                                 AuditActor actor, Committed* committed) = 0;
  // One transaction: lock the presented token, check it, spend it, insert the child, audit —
  // or, on reuse, revoke the family and audit `refresh.reuse_detected`. Concurrent calls with
  // one token are serialized by the row lock, so a token never gets two children.
  virtual absl::StatusOr<RefreshResult> Rotate(const RefreshRotation& rotation, AuditActor actor,
                                               Committed* committed) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_
