// The change feed: how a committed write reaches every replica's introspection snapshot
// (DESIGN.md §3). A writing transaction sends a compact Change on the PostgreSQL channel
// `tessera_changes`; PostgreSQL delivers it at commit, so only committed changes travel. The
// store's write also returns its Changes to the caller (Committed), which applies them to its
// own replica's snapshot once the write has committed, before it answers: so its next answer
// already reflects the write.
#ifndef TESSERA_STORAGE_CHANGE_FEED_H_
#define TESSERA_STORAGE_CHANGE_FEED_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tessera {

inline constexpr char kChangeChannel[] = "tessera_changes";

enum class ChangeKind {
  kAccount,      // status, roles or "log out everywhere" of account `id` changed: reload it
  kAccessToken,  // access token `id` (a jti) revoked until `expires_at`
  kFamily,       // refresh family `id` revoked; its access tokens matter until `expires_at`
  kSigningKeys,  // the signing key set changed: reload it
  kApiKey,       // API key `id` was created, revoked or had its secret rotated: reload it
  // Changes nothing. A replica that has passed marker `id` has applied every change committed
  // before it was sent (the channel delivers in commit order): tests wait on one instead of
  // waiting for quiet.
  kMarker,
};

struct Change {
  ChangeKind kind = ChangeKind::kAccount;
  std::string org_id;  // empty for kSigningKeys
  std::string id;      // empty for kSigningKeys
  absl::Time expires_at = absl::UnixEpoch();
  // The writer's wall clock when it sent the change, just before its commit: the start of the
  // propagation lag a replica measures when it applies the change.
  absl::Time sent_at = absl::UnixEpoch();
};

// One line of ASCII, far below PostgreSQL's 8000-byte payload limit:
// "v1 <kind> <org_id|-> <id|-> <expires_us> <sent_us>".
std::string EncodeChange(const Change& change);
// INVALID_ARGUMENT for anything EncodeChange would not have produced.
absl::StatusOr<Change> DecodeChange(absl::string_view payload);

// What a write committed, handed back to the caller of a store's write: the caller applies it
// to its replica's snapshot (AuthSnapshot::ApplyCommitted) after the store call returns. A
// store never calls up into the snapshot itself. Every store write takes one; null only where
// no snapshot is there to apply to (bootstrap, the key manager, which reloads its own ring).
struct Committed {
  std::vector<Change> changes;
};

// What consumes the feed: the snapshot of one replica.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // Applies one committed change. Idempotent: a replica receives its own changes twice (locally,
  // then from the channel). Not OK when the change could not be applied (the database was
  // unreachable for a reload); the feed then resynchronizes.
  virtual absl::Status Apply(const Change& change) = 0;
  // Anything may have changed (start-up, or the feed lost its connection and with it the
  // notifications sent meanwhile): reload everything. Not OK → the feed retries later.
  virtual absl::Status Resync() = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_CHANGE_FEED_H_
