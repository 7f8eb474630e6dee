// Report: the benchmark's results as the Markdown sections of BENCHMARKS.md. Every rate is shown
// beside what bounds it, measured in the same run: the echo baseline at the same concurrency for
// the gRPC paths, the raw Argon2id rate for password logins, the raw transaction rate for
// Refresh, the raw commit rate for Revoke. The targets (targets.h) are checked against those
// ratios; Tsv() gives every row in a form to draw from.
#ifndef TESSERA_BENCH_REPORT_H_
#define TESSERA_BENCH_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "bench/load.h"
#include "bench/raw.h"

namespace tessera::bench {

class Report {
 public:
  // A gRPC workload; "echo baseline" rows are the denominators of the others.
  void Add(const std::string& workload, int outstanding, const LoadResult& r);
  // An HTTP workload (wrk, connections); "HTTP echo route" rows are the denominators of the
  // others.
  void AddHttp(const std::string& workload, int connections, const LoadResult& r);
  // A workload bound by other work, beside that work's raw rate measured in the same run.
  void AddBound(const std::string& workload, int outstanding, const LoadResult& r,
                const std::string& bound, const LoadResult& raw);
  // A mixed workload (LoadResult::kinds in MixedKind order); `logins` is the password load run
  // beside it, if any.
  void AddMixed(const std::string& workload, int outstanding, const LoadResult& r,
                const LoadResult* logins);
  void SetSignatureCosts(std::vector<SignatureCost> costs) { signatures_ = std::move(costs); }
  void AddMemory(const std::string& what, double rss_mib, const std::string& per_entry);
  // A target of issue #7 and what was measured against it.
  void AddTarget(const std::string& target, const std::string& measured, bool met);
  // A figure shown among the targets for reading beside them, with none of its own ("–").
  void AddReading(const std::string& what, const std::string& measured);

  // The echo baseline at `outstanding` (zero if it was not run).
  LoadResult Echo(int outstanding) const;
  const LoadResult* Find(const std::string& workload, int outstanding) const;
  // The same for the HTTP rows.
  LoadResult HttpEcho(int connections) const;
  const LoadResult* FindHttp(const std::string& workload, int connections) const;
  // A bound row: its result, and the raw rate it was set against. False if there is none.
  bool FindBound(const std::string& workload, int outstanding, LoadResult* result,
                 LoadResult* raw) const;
  const LoadResult* FindMixed(const std::string& workload, int outstanding) const;

  std::string Markdown() const;
  // Every measured row, one a line, tab-separated, with a header line: section (grpc, http,
  // bound, mixed), workload, outstanding, req_s, p50_ms, p90_ms, p99_ms, errors, and what the
  // row is set against (the echo at the same concurrency, or the raw bound): bound, bound_req_s,
  // bound_p50_ms, bound_p99_ms. A mixed workload's kinds of call follow it as
  // "<workload> / <kind>" rows. scripts/bench-figures draws from it.
  std::string Tsv() const;

 private:
  struct Row {
    std::string workload;
    int outstanding;
    LoadResult result;
  };
  struct BoundRow {
    std::string workload;
    int outstanding;
    LoadResult result;
    std::string bound;
    LoadResult raw;
  };
  struct MixedRow {
    std::string workload;
    int outstanding;
    LoadResult result;
    bool with_logins;
    LoadResult logins;
  };
  struct Target {
    std::string target, measured;
    const char* met;  // "yes", "**no**" or "–"
  };
  // A table row: the rates and latencies of `r`, and their ratios to `echo`'s.
  static std::string RatioRow(const Row& r, const LoadResult& echo);
  static const LoadResult* FindRow(const std::vector<Row>& rows, const std::string& workload,
                                   int outstanding);
  std::vector<Row> rows_;
  std::vector<Row> http_rows_;
  std::vector<BoundRow> bound_;
  std::vector<MixedRow> mixed_;
  std::vector<SignatureCost> signatures_;
  std::vector<std::vector<std::string>> memory_;
  std::vector<Target> targets_;
};

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_REPORT_H_
