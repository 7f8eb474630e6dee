#include "bench/propagation.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/credential_check.h"
#include "services/introspection_logic.h"
#include "services/principal.h"
#include "services/revocation_logic.h"
#include "services/session_logic.h"

namespace tessera::bench {
namespace {

// The caller `token` authenticates as, through the logic the faces call.
absl::StatusOr<Principal> AuthenticateAs(ServerApp& app, const std::string& token,
                                         CallContext call) {
  call.authorization = "Bearer " + token;
  return app.credentials().AuthenticateCaller(call);
}

bool ActiveOn(ServerApp& logic, const std::string& token, const CallContext& call) {
  auto r = logic.introspection().Introspect(call, /*caller=*/nullptr, token, "");
  return r.ok() && r->active;
}

}  // namespace

std::string MeasurePropagation(const Config& config, const Clock& clock, ServerApp& a,
                               const std::string& org_slug, const std::string& admin_password,
                               int samples, Report& report) {
  ServerApp b(config, clock);
  if (auto s = b.Start(); !s.ok()) return std::string(s.message());
  ServerApp& on_a = a;
  ServerApp& on_b = b;
  CallContext call{.request_id = "bench-propagation", .peer = "local"};
  auto login = on_a.sessions().LoginWithPassword(
      PasswordLogin{.org_slug = org_slug, .username = "admin", .password = admin_password}, call);
  if (!login.ok()) return std::string(login.status().message());
  auto admin = AuthenticateAs(on_a, login->access_token, call);
  if (!admin.ok()) return std::string(admin.status().message());
  // Access tokens to revoke, one per refresh of a second session.
  auto session = on_a.sessions().LoginWithPassword(
      PasswordLogin{.org_slug = org_slug, .username = "admin", .password = admin_password}, call);
  if (!session.ok()) return std::string(session.status().message());
  std::vector<std::string> tokens;
  std::string refresh = session->refresh_token;
  for (int i = 0; i < samples; ++i) {
    auto next = on_a.sessions().Refresh(refresh, call);
    if (!next.ok()) return std::string(next.status().message());
    tokens.push_back(next->access_token);
    refresh = next->refresh_token;
  }
  const absl::Time ready_by = absl::Now() + absl::Seconds(10);
  while (!ActiveOn(on_b, tokens.back(), call)) {
    if (absl::Now() > ready_by) return "the second replica never saw the tokens";
    absl::SleepFor(absl::Microseconds(100));
  }
  std::vector<double> ms;
  for (const std::string& token : tokens) {
    auto revoked = on_a.revocation().Revoke(*admin, {RevokeTarget::kToken, token}, call);
    if (!revoked.ok()) return std::string(revoked.status().message());
    const absl::Time answered = absl::Now();
    while (ActiveOn(on_b, token, call)) {
      if (absl::Now() - answered > absl::Seconds(10)) return "a revocation never arrived";
      absl::SleepFor(absl::Microseconds(50));
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - answered));
  }
  b.Shutdown(absl::Seconds(1));
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * ms.size()))]; };
  const double p99 = at(0.99);
  report.AddTarget("Revocation on one replica visible on another: p99 ≤ 100 ms",
                   absl::StrFormat("p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d revocations)",
                                   at(0.5), p99, ms.back(), samples),
                   p99 <= 100.0);
  return "";
}

}  // namespace tessera::bench
