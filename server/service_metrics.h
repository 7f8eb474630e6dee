// ServiceMetrics: tessera's own counters, updated by each face where a call's outcome is
// known, from what the logic's outcome carries: tokens issued by grant, introspections by result,
// authentication failures by reason, refresh-token reuse, revocations by kind, a proxy's Check
// decisions (external authorization). They are
// prometheus-cpp families in the process's registry; every label value is added once, in the
// constructor (so each is on /metrics at 0 from the first scrape), and an update is one atomic
// add on a kept pointer, never a family lookup.
#ifndef TESSERA_SERVER_SERVICE_METRICS_H_
#define TESSERA_SERVER_SERVICE_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "services/revocation_logic.h"
#include "services/session_logic.h"

namespace tessera {

class ServiceMetrics {
 public:
  explicit ServiceMetrics(prometheus::Registry& registry);

  void Issued(IssueGrant grant);
  void Introspected(bool active) {
    (active ? introspected_active_ : introspected_inactive_)->Increment();
  }
  void Revoked(RevokedKind kind);
  // A failed call, counted by what the logic marked on its status: a lockout (TooManyAttempts)
  // as locked_out, a refused credential by its RefusalReason (and a reused refresh token in
  // tessera_refresh_reuse_detected_total too); any other failure not at all.
  void Refused(const absl::Status& status);
  // A Check's decision on a proxied request, from the logic's outcome: allowed, unauthenticated,
  // forbidden, locked_out, or error (a route policy that does not parse, or an internal error).
  void Checked(const absl::Status& outcome);

 private:
  using Counter = prometheus::Counter;
  Counter* introspected_active_;
  Counter* introspected_inactive_;
  Counter* refresh_reuse_;
  Counter* issued_by_grant_[4];
  Counter* revoked_by_kind_[4];
  Counter* locked_out_;
  Counter* invalid_credentials_;
  Counter* invalid_refresh_token_;
  Counter* invalid_bearer_;
  Counter* checks_[5];  // allowed, unauthenticated, forbidden, locked_out, error
};

}  // namespace tessera

#endif  // TESSERA_SERVER_SERVICE_METRICS_H_
