// ServiceMetrics: tessera's own counters, updated at the gRPC edge where each call's outcome is
// known: tokens issued by grant, introspections by result, authentication failures by reason,
// refresh-token reuse, revocations by kind. Cells are looked up once, in the constructor, so an
// update is one atomic increment.
#ifndef TESSERA_SERVICES_SERVICE_METRICS_H_
#define TESSERA_SERVICES_SERVICE_METRICS_H_

#include "absl/status/status.h"
#include "core/metrics.h"
#include "services/token_logic.h"

namespace tessera {

class ServiceMetrics {
 public:
  explicit ServiceMetrics(MetricsRegistry& registry);

  void Issued(IssueGrant grant);
  void Introspected(bool active) {
    (active ? introspected_active_ : introspected_inactive_)->Inc();
  }
  enum class Revocation { kAccessToken, kRefreshFamily, kApiKey, kAccount };
  void Revoked(Revocation kind);
  // A refused credential: a lockout (TooManyAttempts) counts as locked_out, UNAUTHENTICATED as
  // `reason` (invalid_credentials, invalid_refresh_token or invalid_bearer; anything else counts
  // as invalid_credentials); other codes not at all.
  void AuthFailure(const absl::Status& status, const char* reason);
  void RefreshReuse() { refresh_reuse_->Inc(); }

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

// Marks a refresh refusal as reuse of a spent token. The client only sees "invalid refresh
// token"; the mark (a status payload, never sent) lets the edge count it.
absl::Status MarkRefreshReuse(absl::Status status);
bool IsRefreshReuse(const absl::Status& status);

}  // namespace tessera

#endif  // TESSERA_SERVICES_SERVICE_METRICS_H_
