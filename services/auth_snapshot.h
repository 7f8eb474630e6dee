// AuthSnapshot: everything introspection needs besides the signature, held in memory so that
// Introspect never waits on PostgreSQL (DESIGN.md §3): each account's status, current scopes and
// "log out everywhere" cutoff, access tokens revoked by jti, and revoked refresh families. A full
// load fills it; the change feed keeps it current; this replica's own writes are applied before
// they are answered (the logic calls ApplyCommitted with what each store write committed).
//
// It also holds every live API key, by the digest of the key. The map is complete, so an
// unknown digest is answered "inactive" from memory at once: a flood of random keys costs
// neither a query nor a byte (no negative cache is needed, and none can grow).
#ifndef TESSERA_SERVICES_AUTH_SNAPSHOT_H_
#define TESSERA_SERVICES_AUTH_SNAPSHOT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "core/sync.h"
#include "storage/change_feed.h"
#include "storage/snapshot_store.h"

namespace tessera {

struct SnapshotOptions {
  // How long a revoked family is kept past its absolute end: the last access token it minted
  // may outlive the family by a token lifetime plus the verification leeway. (A revoked jti is
  // kept until its own expiry, which already includes the leeway.)
  absl::Duration family_tail = absl::Seconds(900 + 10);
};

class AuthSnapshot final : public ChangeSink {
 public:
  // `reload_keys` reloads the signing-key ring (on a key change and on every resync).
  AuthSnapshot(const Clock& clock, SnapshotStore& store, SnapshotOptions options,
               std::function<absl::Status()> reload_keys);

  absl::Status Apply(const Change& change) override;
  absl::Status Resync() override;

  // Applies what a write of this replica committed, once the store call has returned. The same
  // changes also arrive through the channel, so a failure here only delays them (and the feed's
  // own apply retries); it is not the writer's error.
  void ApplyCommitted(const Committed& committed);

  // Runs a store write, `write(Committed*)`, then applies what it committed: the one way the
  // logic writes, so that none forgets to read its own writes.
  //
  //   return snapshot_.AfterCommit([&](Committed* c) {
  //     return accounts_.Disable(org_id, account_id, now, actor, c);
  //   });
  template <typename Write>
  auto AfterCommit(Write&& write) {
    Committed committed;
    auto result = write(&committed);
    ApplyCommitted(committed);
    return result;
  }

  // For a token whose signature and times were verified: its account if the token is still
  // active — the account exists in the token's organization and is enabled, and neither the
  // jti, nor the family (`sid`), nor the account's cutoff revoked it. nullptr when not active.
  // UNAVAILABLE until the first full load.
  // A token minted from an API key (client_id is the key's ID, not the account's) is active only
  // while that key is.
  absl::StatusOr<std::shared_ptr<const AccountPermissions>> ActiveAccount(
      const AccessTokenClaims& claims) const;

  // The account as the snapshot has it (disabled or not), or nullptr if it is not in `org_id`.
  absl::StatusOr<std::shared_ptr<const AccountPermissions>> FindAccount(
      const std::string& org_id, const std::string& account_id) const;

  struct ActiveKey {
    std::shared_ptr<const ApiKeyCredential> key;
    std::shared_ptr<const AccountPermissions> account;
  };
  // The live, unexpired key with this digest whose account is enabled; nullopt otherwise.
  // UNAVAILABLE until the first full load.
  absl::StatusOr<std::optional<ActiveKey>> ActiveApiKey(const std::string& digest) const;

  // Drops revocations that can no longer matter.
  void Prune();

  struct Sizes {
    size_t accounts = 0;
    size_t revoked_tokens = 0;
    size_t revoked_families = 0;
    size_t api_keys = 0;
  };
  Sizes sizes() const;
  bool loaded() const;

 private:
  // A revoked jti or family, packed (core/packed_id.h): a million of them must fit in well under
  // 150 bytes each (issue #7); strings would take about 250.
  struct Revoked {
    absl::uint128 org_id = 0;
    int64_t expires_at = 0;  // Unix seconds, rounded up: kept for at least as long as asked
  };
  // Keyed by ID alone (UUIDs and random jtis); the organization is checked on lookup.
  using AccountMap = absl::flat_hash_map<std::string, std::shared_ptr<const AccountPermissions>>;
  using RevokedMap = absl::flat_hash_map<absl::uint128, Revoked>;

  using KeyMap = absl::flat_hash_map<std::string, std::shared_ptr<const ApiKeyCredential>>;

  absl::Status ApplyAccount(const Change& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  absl::Status ApplyApiKey(const Change& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // The enabled account of `org_id` with this ID, or nullptr.
  std::shared_ptr<const AccountPermissions> EnabledAccount(const std::string& org_id,
                                                           const std::string& account_id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static void AddRevoked(RevokedMap& map, const std::string& org_id, const std::string& id,
                         absl::Time expires_at);

  const Clock& clock_;
  SnapshotStore& store_;
  SnapshotOptions options_;
  std::function<absl::Status()> reload_keys_;

  // Serializes writers, including their reads from PostgreSQL, so that a reload that read
  // older state can never land after one that read newer state.
  Mutex apply_mu_;
  mutable Mutex mu_ ABSL_ACQUIRED_AFTER(apply_mu_);
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  AccountMap accounts_ ABSL_GUARDED_BY(mu_);
  RevokedMap revoked_tokens_ ABSL_GUARDED_BY(mu_);
  RevokedMap revoked_families_ ABSL_GUARDED_BY(mu_);
  KeyMap api_keys_ ABSL_GUARDED_BY(mu_);                                            // by digest
  absl::flat_hash_map<std::string, std::string> key_digests_ ABSL_GUARDED_BY(mu_);  // ID → digest
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_AUTH_SNAPSHOT_H_
