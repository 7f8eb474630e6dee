// The targets of issues #7 and #18, checked against the ratios the benchmark measured (moved out
// of main.cc, which had grown past what one file should hold). Each adds rows to the report's
// targets table; none runs a workload except CheckPairedTargets, which alternates short runs.
#ifndef TESSERA_BENCH_TARGETS_H_
#define TESSERA_BENCH_TARGETS_H_

#include "bench/report.h"
#include "bench/workloads.h"

namespace tessera::bench {

// The calls outstanding (or connections) every workload is measured at.
inline constexpr int kOutstanding[] = {1, 16, 64};

// The targets read from the gRPC rows, the bound rows and the mixed rows of a full run.
void CheckTargets(Report& report);
// Refresh's and Revoke's targets alone (also part of CheckTargets), for --only=refresh|revoke.
void CheckRefreshTargets(Report& report);
void CheckRevokeTargets(Report& report);
// The HTTP introspection target against the HTTP echo route.
void CheckHttpTargets(Report& report);
// The targets against echo, on five alternating short pairs (median ratio): on a shared, noisy
// machine a single pair of runs seconds apart can differ by 30% either way.
void CheckPairedTargets(Workloads& w, Report& report);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_TARGETS_H_
