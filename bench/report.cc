#include "bench/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/workloads.h"

namespace tessera::bench {
namespace {

std::string Ms(double us) { return absl::StrFormat("%.3f", us / 1000); }
std::string Ratio(double a, double b) { return b > 0 ? absl::StrFormat("%.2f", a / b) : "–"; }
std::string Errors(uint64_t errors) {
  return errors > 0 ? absl::StrFormat(" (%d errors)", errors) : "";
}

}  // namespace

void Report::Add(const std::string& workload, int outstanding, const LoadResult& r) {
  rows_.push_back(Row{workload, outstanding, r});
}

void Report::AddHttp(const std::string& workload, int connections, const LoadResult& r) {
  http_rows_.push_back(Row{workload, connections, r});
}

const LoadResult* Report::FindHttp(const std::string& workload, int connections) const {
  return FindRow(http_rows_, workload, connections);
}

LoadResult Report::HttpEcho(int connections) const {
  const LoadResult* e = FindHttp("HTTP echo route", connections);
  return e ? *e : LoadResult{};
}

void Report::AddBound(const std::string& workload, int outstanding, const LoadResult& r,
                      const std::string& bound, const LoadResult& raw) {
  bound_.push_back(BoundRow{workload, outstanding, r, bound, raw});
}

void Report::AddMixed(const std::string& workload, int outstanding, const LoadResult& r,
                      const LoadResult* logins) {
  mixed_.push_back(
      MixedRow{workload, outstanding, r, logins != nullptr, logins ? *logins : LoadResult{}});
}

void Report::AddMemory(const std::string& what, double rss_mib, const std::string& per_entry) {
  memory_.push_back({what, absl::StrFormat("%.1f", rss_mib), per_entry});
}

void Report::AddTarget(const std::string& target, const std::string& measured, bool met) {
  targets_.push_back(Target{target, measured, met ? "yes" : "**no**"});
}

void Report::AddReading(const std::string& what, const std::string& measured) {
  targets_.push_back(Target{what, measured, "–"});
}

const LoadResult* Report::FindRow(const std::vector<Row>& rows, const std::string& workload,
                                  int outstanding) {
  for (const Row& r : rows) {
    if (r.workload == workload && r.outstanding == outstanding) return &r.result;
  }
  return nullptr;
}

const LoadResult* Report::Find(const std::string& workload, int outstanding) const {
  return FindRow(rows_, workload, outstanding);
}

bool Report::FindBound(const std::string& workload, int outstanding, LoadResult* result,
                       LoadResult* raw) const {
  for (const BoundRow& r : bound_) {
    if (r.workload == workload && r.outstanding == outstanding) {
      *result = r.result;
      *raw = r.raw;
      return true;
    }
  }
  return false;
}

const LoadResult* Report::FindMixed(const std::string& workload, int outstanding) const {
  for (const MixedRow& r : mixed_) {
    if (r.workload == workload && r.outstanding == outstanding) return &r.result;
  }
  return nullptr;
}

LoadResult Report::Echo(int outstanding) const {
  const LoadResult* e = Find("echo baseline", outstanding);
  return e ? *e : LoadResult{};
}

std::string Report::RatioRow(const Row& r, const LoadResult& echo) {
  return absl::StrFormat("| %s | %d | %.0f | %s | %s | %s | %s | %s |%s\n", r.workload,
                         r.outstanding, r.result.rate, Ratio(r.result.rate, echo.rate),
                         Ms(r.result.p50_us), Ms(r.result.p90_us), Ms(r.result.p99_us),
                         Ratio(r.result.p99_us, echo.p99_us), Errors(r.result.errors));
}

std::string Report::Tsv() const {
  std::string out =
      "section\tworkload\toutstanding\treq_s\tp50_ms\tp90_ms\tp99_ms\terrors\tbound\t"
      "bound_req_s\tbound_p50_ms\tbound_p99_ms\n";
  auto line = [&](const char* section, const std::string& workload, int outstanding,
                  const LoadResult& r, const std::string& bound, const LoadResult& b) {
    absl::StrAppend(
        &out, absl::StrFormat("%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%d\t%s\t%.1f\t%s\t%s\n", section,
                              workload, outstanding, r.rate, Ms(r.p50_us), Ms(r.p90_us),
                              Ms(r.p99_us), r.errors, bound, b.rate, Ms(b.p50_us), Ms(b.p99_us)));
  };
  for (const Row& r : rows_) {
    line("grpc", r.workload, r.outstanding, r.result, "echo baseline", Echo(r.outstanding));
  }
  for (const Row& r : http_rows_) {
    line("http", r.workload, r.outstanding, r.result, "HTTP echo route", HttpEcho(r.outstanding));
  }
  for (const BoundRow& r : bound_)
    line("bound", r.workload, r.outstanding, r.result, r.bound, r.raw);
  static constexpr const char* kKindNames[kMixedKinds] = {"Introspect", "IssueToken", "Revoke",
                                                          "Refresh"};
  for (const MixedRow& r : mixed_) {
    LoadResult echo = Echo(r.outstanding);
    line("mixed", r.workload, r.outstanding, r.result, "echo baseline", echo);
    for (size_t k = 0; k < r.result.kinds.size() && k < kMixedKinds; ++k) {
      const LoadResult::Kind& kind = r.result.kinds[k];
      LoadResult as_result{.calls = kind.calls,
                           .errors = kind.errors,
                           .rate = kind.rate,
                           .p50_us = kind.p50_us,
                           .p99_us = kind.p99_us};
      line("mixed", r.workload + " / " + kKindNames[k], r.outstanding, as_result, "echo baseline",
           echo);
    }
    if (r.with_logins) {
      line("mixed", r.workload + " / logins beside it", r.outstanding, r.logins, "echo baseline",
           echo);
    }
  }
  return out;
}

std::string Report::Markdown() const {
  std::string out;
  if (!rows_.empty()) {
    absl::StrAppend(&out,
                    "## gRPC paths against the echo baseline\n\n"
                    "| workload | outstanding | req/s | × echo | p50 ms | p90 ms | p99 ms | p99 × "
                    "echo |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& r : rows_) out += RatioRow(r, Echo(r.outstanding));
    out += "\n";
  }
  if (!http_rows_.empty()) {
    absl::StrAppend(&out,
                    "## OAuth over HTTP against the HTTP echo route\n\n"
                    "wrk, one thread, keep-alive connections, plaintext; the echo route is on the "
                    "same HTTP server and answers a canned introspection of the same size.\n\n"
                    "| workload | connections | req/s | × echo | p50 ms | p90 ms | p99 ms | p99 × "
                    "echo |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& r : http_rows_) out += RatioRow(r, HttpEcho(r.outstanding));
    out += "\n";
  }
  if (!bound_.empty()) {
    absl::StrAppend(
        &out,
        "## Paths bound by other work, against that work's raw rate\n\n"
        "| workload | outstanding | req/s | p50 ms | p99 ms | bound | bound/s | × bound "
        "| × echo |\n|---|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for (const BoundRow& r : bound_) {
      absl::StrAppend(
          &out,
          absl::StrFormat("| %s | %d | %.0f | %s | %s | %s | %.0f | %s | %s |%s\n", r.workload,
                          r.outstanding, r.result.rate, Ms(r.result.p50_us), Ms(r.result.p99_us),
                          r.bound, r.raw.rate, Ratio(r.result.rate, r.raw.rate),
                          Ratio(r.result.rate, Echo(r.outstanding).rate), Errors(r.result.errors)));
    }
    out += "\n";
  }
  if (!mixed_.empty()) {
    absl::StrAppend(
        &out,
        "## Mixed workloads\n\n"
        "95% Introspect (cached), 4% IssueToken (service token), 1% Revoke and Refresh in turn. "
        "\"With logins\": password logins run beside it at the same time, enough to keep the "
        "password pool's threads and queue full.\n\n"
        "| workload | outstanding | req/s | × echo | Introspect p50 ms | Introspect p99 ms | "
        "IssueToken p99 ms | Revoke p99 ms | Refresh p99 ms | logins/s | login p99 ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const MixedRow& r : mixed_) {
      const auto& k = r.result.kinds;
      if (k.size() < kMixedKinds) continue;
      absl::StrAppend(
          &out, absl::StrFormat("| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |%s\n",
                                r.workload, r.outstanding, r.result.rate,
                                Ratio(r.result.rate, Echo(r.outstanding).rate),
                                Ms(k[kMixedIntrospect].p50_us), Ms(k[kMixedIntrospect].p99_us),
                                Ms(k[kMixedIssue].p99_us), Ms(k[kMixedRevoke].p99_us),
                                Ms(k[kMixedRefresh].p99_us),
                                r.with_logins ? absl::StrFormat("%.0f", r.logins.rate) : "–",
                                r.with_logins ? Ms(r.logins.p99_us) : "–",
                                Errors(r.result.errors + r.logins.errors)));
    }
    out += "\n";
  }
  if (!signatures_.empty()) {
    absl::StrAppend(&out,
                    "## Signatures\n\n"
                    "One access token signed (EncodeAccessToken) and verified (VerifyAccessToken, "
                    "parsing and claim checks included) on one thread.\n\n"
                    "| algorithm | sign µs | verify µs | verifications/s per core | token bytes |\n"
                    "|---|---:|---:|---:|---:|\n");
    for (const SignatureCost& c : signatures_) {
      absl::StrAppend(
          &out, absl::StrFormat("| %s | %.1f | %s | %s | %d |\n", SigningAlgName(c.alg), c.sign_us,
                                c.verify_us < 0 ? "failed" : absl::StrFormat("%.1f", c.verify_us),
                                c.verify_us > 0 ? absl::StrFormat("%.0f", 1e6 / c.verify_us) : "–",
                                c.token_bytes));
    }
    out += "\n";
  }
  if (!memory_.empty()) {
    absl::StrAppend(&out,
                    "## Memory\n\n| state of the replica | RSS MiB | held per entry |\n"
                    "|---|---:|---:|\n");
    for (const auto& m : memory_) {
      absl::StrAppend(&out, absl::StrFormat("| %s | %s | %s |\n", m[0], m[1], m[2]));
    }
    out += "\n";
  }
  if (!targets_.empty()) {
    absl::StrAppend(
        &out, memory_.empty() ? "## Targets (issues #7 and #18)" : "## Memory target (issue #7)",
        "\n\n| target | measured | met |\n|---|---|---|\n");
    for (const Target& t : targets_) {
      absl::StrAppend(&out, absl::StrFormat("| %s | %s | %s |\n", t.target, t.measured, t.met));
    }
    out += "\n";
  }
  return out;
}

}  // namespace tessera::bench
