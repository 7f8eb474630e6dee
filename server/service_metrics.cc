#include "server/service_metrics.h"

#include "services/login_guard.h"
#include "services/refusal.h"

namespace tessera {
ServiceMetrics::ServiceMetrics(MetricsRegistry& r)
    : issued_(r.AddCounter("tessera_tokens_issued_total", "Access tokens issued, by grant.",
                           {"grant"})),
      introspections_(r.AddCounter("tessera_introspections_total",
                                   "Introspect answers, by result (active or inactive).",
                                   {"result"})),
      failures_(r.AddCounter("tessera_auth_failures_total",
                             "Refused logins, refreshes and bearer credentials, by reason.",
                             {"reason"})),
      revocations_(r.AddCounter("tessera_revocations_total",
                                "Revoke calls that succeeded, by kind.", {"kind"})) {
  introspected_active_ = &introspections_.Get({"active"});
  introspected_inactive_ = &introspections_.Get({"inactive"});
  refresh_reuse_ = &r.AddCounter("tessera_refresh_reuse_detected_total",
                                 "Spent refresh tokens presented again (their family is revoked).")
                        .Get({});
  const char* grants[] = {"password", "refresh", "api_key", "service_token"};  // IssueGrant
  for (int i = 0; i < 4; ++i) issued_by_grant_[i] = &issued_.Get({grants[i]});
  const char* kinds[] = {"access_token", "refresh_family", "api_key", "account"};
  for (int i = 0; i < 4; ++i) revoked_by_kind_[i] = &revocations_.Get({kinds[i]});
  locked_out_ = &failures_.Get({"locked_out"});
  // Present (at 0) from the first scrape, and resolved once: no lock on a failure either.
  invalid_credentials_ = &failures_.Get({"invalid_credentials"});
  invalid_refresh_token_ = &failures_.Get({"invalid_refresh_token"});
  invalid_bearer_ = &failures_.Get({"invalid_bearer"});
}

void ServiceMetrics::Issued(IssueGrant grant) { issued_by_grant_[static_cast<int>(grant)]->Inc(); }

void ServiceMetrics::Revoked(RevokedKind kind) { revoked_by_kind_[static_cast<int>(kind)]->Inc(); }

void ServiceMetrics::Refused(const absl::Status& status) {
  if (RetryAfterSeconds(status).has_value()) {  // a lockout, not a full queue
    locked_out_->Inc();
    return;
  }
  auto reason = RefusalOf(status);
  if (!reason.has_value()) return;
  switch (*reason) {
    case RefusalReason::kInvalidCredentials:
      invalid_credentials_->Inc();
      break;
    case RefusalReason::kInvalidRefreshToken:
      invalid_refresh_token_->Inc();
      if (IsRefreshReuse(status)) refresh_reuse_->Inc();
      break;
    case RefusalReason::kInvalidBearer:
      invalid_bearer_->Inc();
      break;
  }
}

}  // namespace tessera
