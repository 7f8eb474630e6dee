// ThrottleStore: failed-authentication counters shared by every replica, for brute-force
// lockouts. A subject is what is being guessed at (an account, an unknown login name, a service
// token's secret); the counting rule is one atomic statement in the database, so guesses sent in
// parallel to several replicas are counted as if sent to one.
#ifndef TESSERA_STORAGE_THROTTLE_STORE_H_
#define TESSERA_STORAGE_THROTTLE_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tessera {

struct ThrottlePolicy {
  int max_failures = 5;                            // the failure that locks the subject
  absl::Duration window = absl::Minutes(15);       // failures older than this are forgotten
  absl::Duration base_lockout = absl::Minutes(1);  // doubles with each further failure
  absl::Duration max_lockout = absl::Minutes(15);  // never longer than this
};

struct ThrottleVerdict {
  bool allowed = false;  // false: locked, nothing was counted
  int failures = 0;      // counted so far in the window, this attempt included
  absl::Time locked_until = absl::InfinitePast();  // in the past: not locked
};

class ThrottleStore {
 public:
  virtual ~ThrottleStore() = default;
  // Counts one failure on `subject` at `now` unless it is locked (see ThrottleVerdict).
  virtual absl::StatusOr<ThrottleVerdict> CountFailure(absl::string_view subject, absl::Time now,
                                                       const ThrottlePolicy& policy) = 0;
  // A success: forgets the subject's failures (and any lock).
  virtual absl::Status Clear(absl::string_view subject) = 0;
  // Takes back one failure CountFailure counted (and answered with `counted`) for an attempt
  // that was never checked (the hashing pool had no room), and a lock that is no longer earned:
  // the one that count engaged itself, or any when the subject is under max_failures again.
  virtual absl::Status Uncount(absl::string_view subject, const ThrottleVerdict& counted,
                               const ThrottlePolicy& policy) = 0;
  // Counts a failed secret for the service token `key_id`. When the failure locks the key, every
  // replica's snapshot hears of it through the change feed (as a change to the key).
  virtual absl::StatusOr<ThrottleVerdict> CountSecretFailure(absl::string_view org_id,
                                                             absl::string_view key_id,
                                                             absl::Time now,
                                                             const ThrottlePolicy& policy,
                                                             Committed* committed) = 0;
  // Deletes counters with no failure since `before` and no lock after it.
  virtual absl::StatusOr<int64_t> Prune(absl::Time before) = 0;
};

// The subject a service token's secret failures are counted under.
inline std::string SecretSubject(absl::string_view key_id) {
  return std::string("key:").append(key_id.data(), key_id.size());
}

}  // namespace tessera

#endif  // TESSERA_STORAGE_THROTTLE_STORE_H_
