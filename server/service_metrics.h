// ServiceMetrics: tessera's own counters, updated by each face where a call's outcome is
// known, from what the logic's outcome carries: tokens issued by grant, introspections by result,
// authentication failures by reason, refresh-token reuse, revocations by kind. Cells are looked up
// once, in the constructor, so an update is one atomic increment.
#ifndef TESSERA_SERVER_SERVICE_METRICS_H_
#define TESSERA_SERVER_SERVICE_METRICS_H_

#include "absl/status/status.h"
#include "core/metrics.h"
#include "services/revocation_logic.h"
#include "services/session_logic.h"

namespace tessera {

class ServiceMetrics {
 public:
  explicit ServiceMetrics(MetricsRegistry& registry);

  void Issued(IssueGrant grant);
  void Introspected(bool active) {
    (active ? introspected_active_ : introspected_inactive_)->Inc();
  }
  void Revoked(RevokedKind kind);
  // A failed call, counted by what the logic marked on its status: a lockout (TooManyAttempts)
  // as locked_out, a refused credential by its RefusalReason (and a reused refresh token in
  // tessera_refresh_reuse_detected_total too); any other failure not at all.
  void Refused(const absl::Status& status);

 private:
  Family<Counter>& issued_;
  Family<Counter>& introspections_;
  Family<Counter>& failures_;
  Family<Counter>& revocations_;
  Counter* introspected_active_;
  Counter* introspected_inactive_;
  Counter* refresh_reuse_;
  Counter* issued_by_grant_[4];
  Counter* revoked_by_kind_[4];
  Counter* locked_out_;
  Counter* invalid_credentials_;
  Counter* invalid_refresh_token_;
  Counter* invalid_bearer_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_SERVICE_METRICS_H_
