// The targets of issues #7 and #18 against the measured ratios (see targets.h).
#include "bench/targets.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace tessera::bench {
namespace {

double EchoRatio(const Report& report, const std::string& workload, int n) {
  const LoadResult* r = report.Find(workload, n);
  LoadResult e = report.Echo(n);
  return r && e.rate > 0 ? r->rate / e.rate : 0.0;
}

double EchoP99Ratio(const Report& report, const std::string& workload, int n) {
  const LoadResult* r = report.Find(workload, n);
  LoadResult e = report.Echo(n);
  return r && e.p99_us > 0 ? r->p99_us / e.p99_us : 0.0;
}

// The bound row's rate over its raw rate; `p99_ms` gets the row's p99 if asked.
double BoundRatio(const Report& report, const std::string& workload, int n,
                  double* p99_ms = nullptr) {
  LoadResult r, raw;
  if (!report.FindBound(workload, n, &r, &raw) || raw.rate <= 0) return 0.0;
  if (p99_ms != nullptr) *p99_ms = r.p99_us / 1000;
  return r.rate / raw.rate;
}

// The ratio of two workloads measured in turn, `rounds` times each, shorter: the median of the
// rounds' ratios, which takes the machine's drift out of the targets checked against echo.
struct Paired {
  double median = 0, low = 0, high = 0;
};
Paired Alternate(Workloads& w, const std::function<LoadResult()>& a,
                 const std::function<LoadResult()>& b, int rounds = 5) {
  LoadOptions saved = w.options();
  w.set_options(LoadOptions{.warmup = absl::Milliseconds(500), .duration = absl::Seconds(2)});
  std::vector<double> ratios;
  for (int i = 0; i < rounds; ++i) {
    double ra = a().rate, rb = b().rate;
    if (rb > 0) ratios.push_back(ra / rb);
  }
  w.set_options(saved);
  std::sort(ratios.begin(), ratios.end());
  if (ratios.empty()) return {};
  return Paired{ratios[ratios.size() / 2], ratios.front(), ratios.back()};
}

}  // namespace

void CheckRefreshTargets(Report& report) {
  // Issue #18: group commit lets Refresh outrun one transaction per refresh on the same
  // connections; alone (1 outstanding) it should cost little more than its transaction.
  double p99_ms = 0;
  double at64 = BoundRatio(report, "Refresh", 64, &p99_ms);
  report.AddTarget(
      "Refresh, 64 outstanding: ≥ 3 × the raw one-transaction-per-refresh rate (8 connections)",
      absl::StrFormat("%.2f ×", at64), at64 >= 3);
  report.AddTarget("Refresh, 64 outstanding: p99 ≤ 50 ms", absl::StrFormat("%.1f ms", p99_ms),
                   p99_ms > 0 && p99_ms <= 50);
  double at1 = BoundRatio(report, "Refresh", 1);
  report.AddTarget("Refresh, 1 outstanding: ≥ 0.8 × the raw transaction (1 connection)",
                   absl::StrFormat("%.2f ×", at1), at1 >= 0.8);
}

void CheckRevokeTargets(Report& report) {
  double at64 = BoundRatio(report, "Revoke (access token)", 64);
  report.AddTarget(
      "Revoke, 64 outstanding: ≥ 5 × the raw one-commit-per-revocation rate (8 connections)",
      absl::StrFormat("%.2f ×", at64), at64 >= 5);
}

void CheckTargets(Report& report) {
  double cached = EchoRatio(report, "Introspect, cached token", 64);
  report.AddTarget("Introspect, cached, 64 outstanding: ≥ 0.8 × echo",
                   absl::StrFormat("%.2f × echo", cached), cached >= 0.8);
  double cached_p99 = EchoP99Ratio(report, "Introspect, cached token", 64);
  report.AddTarget("Introspect, cached, 64 outstanding: p99 ≤ 2 × echo's",
                   absl::StrFormat("%.2f × echo's", cached_p99), cached_p99 > 0 && cached_p99 <= 2);
  double check = EchoRatio(report, "Check (Envoy ext_authz), cached token", 64);
  report.AddTarget("Check (Envoy ext_authz), cached, 64 outstanding: ≥ 0.8 × echo",
                   absl::StrFormat("%.2f × echo", check), check >= 0.8);
  double issue = EchoRatio(report, "IssueToken (service token)", 64);
  report.AddTarget("IssueToken (service token), 64 outstanding: ≥ 0.6 × echo",
                   absl::StrFormat("%.2f × echo", issue), issue >= 0.6);
  CheckRefreshTargets(report);
  CheckRevokeTargets(report);
  for (int n : kOutstanding) {
    double login = BoundRatio(report, "IssueToken (password)", n);
    report.AddTarget(
        absl::StrFormat("Password login, %d outstanding: ≥ 0.8 × raw Argon2id on as many threads",
                        n),
        absl::StrFormat("%.2f ×", login), login >= 0.8);
  }
  for (int n : kOutstanding) {
    const LoadResult* mixed = report.FindMixed("mixed, with logins", n);
    double p99_ms = mixed && mixed->kinds.size() > kMixedIntrospect
                        ? mixed->kinds[kMixedIntrospect].p99_us / 1000
                        : 0;
    double echo_ms = report.Echo(n).p99_us / 1000;
    report.AddTarget(
        absl::StrFormat("Introspect p99 while logins saturate the password pool, %d outstanding: "
                        "≤ 2 × echo's p99 at %d",
                        n, n),
        absl::StrFormat("%.1f ms (%.2f × echo's %.1f ms)", p99_ms,
                        echo_ms > 0 ? p99_ms / echo_ms : 0, echo_ms),
        p99_ms > 0 && echo_ms > 0 && p99_ms <= 2 * echo_ms);
  }
}

void CheckHttpTargets(Report& report) {
  const LoadResult* basic = report.FindHttp("HTTP introspect, cached, Basic client", 64);
  double ratio = basic && report.HttpEcho(64).rate > 0 ? basic->rate / report.HttpEcho(64).rate : 0;
  report.AddTarget("HTTP introspect (Basic client), 64 connections: ≥ 0.7 × the HTTP echo route",
                   absl::StrFormat("%.2f × echo", ratio), ratio >= 0.7);
}

void CheckPairedTargets(Workloads& w, Report& report) {
  Paired cached = Alternate(
      w, [&] { return w.IntrospectCached(64); }, [&] { return w.Echo(64); });
  report.AddTarget(
      "Introspect, cached, 64 outstanding: ≥ 0.8 × echo (5 alternating pairs)",
      absl::StrFormat("median %.2f × echo (%.2f–%.2f)", cached.median, cached.low, cached.high),
      cached.median >= 0.8);
  Paired check = Alternate(
      w, [&] { return w.CheckCached(64); }, [&] { return w.Echo(64); });
  report.AddTarget(
      "Check (Envoy ext_authz), cached, 64 outstanding: ≥ 0.8 × echo (5 alternating pairs)",
      absl::StrFormat("median %.2f × echo (%.2f–%.2f)", check.median, check.low, check.high),
      check.median >= 0.8);
  Paired callback = Alternate(
      w, [&] { return w.CheckCached(64); }, [&] { return w.CallbackEcho(64); });
  report.AddReading(
      "Check, cached, 64 outstanding, beside an echo on the callback API that Check is served by "
      "(5 alternating pairs)",
      absl::StrFormat("median %.2f × callback echo (%.2f–%.2f)", callback.median, callback.low,
                      callback.high));
  Paired issue = Alternate(
      w, [&] { return w.IssueServiceTokens(64); }, [&] { return w.Echo(64); });
  report.AddTarget(
      "IssueToken (service token), 64 outstanding: ≥ 0.6 × echo (5 alternating pairs)",
      absl::StrFormat("median %.2f × echo (%.2f–%.2f)", issue.median, issue.low, issue.high),
      issue.median >= 0.6);
}

}  // namespace tessera::bench
