#include "server/service_metrics.h"

#include "services/login_guard.h"
#include "services/refusal.h"

namespace tessera {
namespace {

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& r, const char* name,
                                                       const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

ServiceMetrics::ServiceMetrics(prometheus::Registry& r) {
  auto& issued = CounterFamily(r, "tessera_tokens_issued_total", "Access tokens issued, by grant.");
  auto& introspections = CounterFamily(r, "tessera_introspections_total",
                                       "Introspect answers, by result (active or inactive).");
  auto& failures = CounterFamily(r, "tessera_auth_failures_total",
                                 "Refused logins, refreshes and bearer credentials, by reason.");
  auto& revocations =
      CounterFamily(r, "tessera_revocations_total", "Revoke calls that succeeded, by kind.");
  introspected_active_ = &introspections.Add({{"result", "active"}});
  introspected_inactive_ = &introspections.Add({{"result", "inactive"}});
  refresh_reuse_ = &CounterFamily(r, "tessera_refresh_reuse_detected_total",
                                  "Spent refresh tokens presented again (their family is revoked).")
                        .Add({});
  const char* grants[] = {"password", "refresh", "api_key", "service_token"};  // IssueGrant
  for (int i = 0; i < 4; ++i) issued_by_grant_[i] = &issued.Add({{"grant", grants[i]}});
  const char* kinds[] = {"access_token", "refresh_family", "api_key", "account"};  // RevokedKind
  for (int i = 0; i < 4; ++i) revoked_by_kind_[i] = &revocations.Add({{"kind", kinds[i]}});
  locked_out_ = &failures.Add({{"reason", "locked_out"}});
  invalid_credentials_ = &failures.Add({{"reason", "invalid_credentials"}});
  invalid_refresh_token_ = &failures.Add({{"reason", "invalid_refresh_token"}});
  invalid_bearer_ = &failures.Add({{"reason", "invalid_bearer"}});
  auto& checks = CounterFamily(r, "tessera_ext_authz_checks_total",
                               "Proxied requests decided by external authorization (Check), by "
                               "decision.");
  const char* decisions[] = {"allowed", "unauthenticated", "forbidden", "locked_out", "error"};
  for (int i = 0; i < 5; ++i) checks_[i] = &checks.Add({{"decision", decisions[i]}});
}

void ServiceMetrics::Checked(const absl::Status& outcome) {
  int i = 4;
  switch (outcome.code()) {
    case absl::StatusCode::kOk:
      i = 0;
      break;
    case absl::StatusCode::kUnauthenticated:
      i = 1;
      break;
    case absl::StatusCode::kPermissionDenied:
      i = 2;
      break;
    case absl::StatusCode::kResourceExhausted:
      i = 3;
      break;
    default:
      break;
  }
  checks_[i]->Increment();
}

void ServiceMetrics::Issued(IssueGrant grant) {
  issued_by_grant_[static_cast<int>(grant)]->Increment();
}

void ServiceMetrics::Revoked(RevokedKind kind) {
  revoked_by_kind_[static_cast<int>(kind)]->Increment();
}

void ServiceMetrics::Refused(const absl::Status& status) {
  if (RetryAfterSeconds(status).has_value()) {  // a lockout, not a full queue
    locked_out_->Increment();
    return;
  }
  auto reason = RefusalOf(status);
  if (!reason.has_value()) return;
  switch (*reason) {
    case RefusalReason::kInvalidCredentials:
      invalid_credentials_->Increment();
      break;
    case RefusalReason::kInvalidRefreshToken:
      invalid_refresh_token_->Increment();
      if (IsRefreshReuse(status)) refresh_reuse_->Increment();
      break;
    case RefusalReason::kInvalidBearer:
      invalid_bearer_->Increment();
      break;
  }
}

}  // namespace tessera
