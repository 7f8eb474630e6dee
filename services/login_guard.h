// LoginGuard: brute-force throttling for every guessable secret tessera checks — passwords
// (counted per account, or per login name when no such account exists, in PostgreSQL so every
// replica shares the count) and service-token secrets (per key, with the lock carried to every
// replica's snapshot by the change feed) — plus a per-peer-address count kept in memory.
//
// A locked subject or peer is refused with RESOURCE_EXHAUSTED carrying a retry-after (see
// RetryAfterSeconds) before its secret is looked at, so a lockout never says whether the secret
// was right. Each lock that engages is audited as `auth.lockout`.
#ifndef TESSERA_SERVICES_LOGIN_GUARD_H_
#define TESSERA_SERVICES_LOGIN_GUARD_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/clock.h"
#include "core/sync.h"
#include "services/principal.h"
#include "storage/audit_store.h"
#include "storage/snapshot_store.h"
#include "storage/throttle_store.h"

namespace tessera {

class AuthSnapshot;

// RESOURCE_EXHAUSTED that tells the client to come back after `retry_after` (whole seconds,
// rounded up, at least 1). The gRPC edge sends it as `retry-after` trailing metadata.
absl::Status TooManyAttempts(absl::Duration retry_after);
// The retry-after seconds carried by a TooManyAttempts status.
std::optional<int64_t> RetryAfterSeconds(const absl::Status& status);

// The address part of a gRPC peer string ("ipv4:10.0.0.7:5123" → "ipv4:10.0.0.7").
std::string PeerAddress(absl::string_view peer);

// The counting rule of tessera_throttle_attempt (migration 0004), for counters kept in memory.
struct ThrottleCounter {
  int failures = 0;
  absl::Time last_failure = absl::InfinitePast();
  absl::Time locked_until = absl::InfinitePast();
};
ThrottleVerdict CountFailure(ThrottleCounter& counter, absl::Time now,
                             const ThrottlePolicy& policy);

// Failed attempts per peer address, in this replica's memory only. Bounded: at most
// `max_peers` addresses are tracked; stale ones are dropped first.
class PeerThrottle {
 public:
  explicit PeerThrottle(ThrottlePolicy policy, size_t max_peers = 100'000)
      : policy_(policy), max_peers_(max_peers) {}
  // When the address is locked, until when.
  std::optional<absl::Time> LockedUntil(const std::string& address, absl::Time now) const;
  ThrottleVerdict CountFailure(const std::string& address, absl::Time now);
  // Drops addresses whose failures are all older than the window and that are not locked.
  void Prune(absl::Time now);
  size_t size() const;

 private:
  void PruneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const ThrottlePolicy policy_;
  const size_t max_peers_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, ThrottleCounter> peers_ ABSL_GUARDED_BY(mu_);
};

struct GuardOptions {
  ThrottlePolicy subject;  // per account, login name, or service token
  ThrottlePolicy peer = {.max_failures = 20};
};

class LoginGuard {
 public:
  // `snapshot`: this replica's, to which a key's new lock is applied as soon as it commits
  // (null: only the change feed brings it, as in tests without one).
  LoginGuard(const Clock& clock, GuardOptions options, ThrottleStore& store, AuditStore& audit,
             AuthSnapshot* snapshot = nullptr);

  // A password attempt on `subject` (SubjectForAccount / SubjectForUnknownLogin). Begin counts it
  // as a failure up front — so parallel guesses cannot all pass before the first is counted —
  // and refuses it (RESOURCE_EXHAUSTED) when the peer or the subject is locked. Exactly one of
  // Succeeded / Failed must follow an OK Begin.
  struct Attempt {
    std::string subject;
    // For audit rows: "account" and its ID, or "login_name" and the start of the unknown name's
    // digest (the same as the auth.failed row's).
    std::string target_type;
    std::string target_id;
    std::string org_id;  // for the lockout's audit row; empty when unknown
    ThrottleVerdict verdict;
  };
  absl::StatusOr<Attempt> BeginPassword(std::string subject, std::string org_id,
                                        const CallContext& call);
  // Forgets the subject's failures; the peer keeps its own (one valid login must not open the
  // door to guessing others).
  void Succeeded(const Attempt& attempt, const CallContext& call);
  void Failed(const Attempt& attempt, const CallContext& call);
  // The password was never checked (the hashing pool refused it): Begin's count is taken back,
  // and nothing is counted for the peer, so retrying through a saturated replica locks no one
  // out. The bound holds: every attempt whose password is hashed stays counted.
  void Unchecked(const Attempt& attempt, const CallContext& call);

  // Before a service token's secret is compared (memory only): RESOURCE_EXHAUSTED while the key
  // or, when `peer_presents`, the calling address is locked. An Introspect caller relays other
  // clients' tokens: it is not the presenter, and locking it out would let anyone who hands it
  // bad secrets cut it off.
  absl::Status CheckSecret(const ApiKeyCredential& key, const CallContext& call,
                           bool peer_presents) const;
  // A wrong secret for `key`: counted for the peer at once, in memory, when it presents, and in
  // PostgreSQL for the key. Best effort: when the count cannot be written the attempt has still
  // failed. With `call.deferred_writes` set, the database part (the key's count, the lockout
  // audit rows) is queued there for the face to make before it answers, off threads that must
  // not block; the peer's count, which refuses a flood from one address, never waits for it.
  void SecretFailed(const ApiKeyCredential& key, const CallContext& call, bool peer_presents);

  // Drops stale counters, in memory and in PostgreSQL.
  absl::Status Prune();

  static std::string SubjectForAccount(absl::string_view account_id);
  // `name_digest` identifies the organization and the name as typed (folded, peppered: see
  // TokenLogic), so the throttle table never holds what may be a mistyped password.
  static std::string SubjectForUnknownLogin(absl::string_view name_digest);

 private:
  struct PeerLock {
    std::string address;
    ThrottleVerdict verdict;
  };
  absl::Status CheckPeer(const CallContext& call, absl::Time now) const;
  // Counts a failure for the call's address, in memory; the lock it engaged, to be audited.
  std::optional<PeerLock> CountPeerFailure(const CallContext& call, absl::Time now);
  void AuditLockout(const std::string& org_id, absl::string_view target_type,
                    absl::string_view target_id, const ThrottleVerdict& verdict, absl::Time now,
                    const CallContext& call);

  const Clock& clock_;
  const GuardOptions options_;
  ThrottleStore& store_;
  AuditStore& audit_;
  AuthSnapshot* snapshot_;
  PeerThrottle peers_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_LOGIN_GUARD_H_
