// Propagation: how long a revocation made through one replica takes to show on another. A
// second ServerApp on the same database follows the change feed; each revocation on the first
// is timed from its answer until the second introspects the token as inactive. This is where
// that figure is bounded (the two-replica e2e test checks the order of events instead of a wall
// clock, which sanitizers and loaded CI machines make meaningless).
#ifndef TESSERA_BENCH_PROPAGATION_H_
#define TESSERA_BENCH_PROPAGATION_H_

#include <string>

#include "bench/report.h"
#include "core/clock.h"
#include "server/app.h"
#include "server/config.h"

namespace tessera::bench {

// Revokes `samples` access tokens of `admin` (a password login of org `org_slug`) through `a`
// and adds the distribution of their propagation times to another replica, and its target, to
// `report`. Empty on success, else what went wrong.
std::string MeasurePropagation(const Config& config, const Clock& clock, ServerApp& a,
                               const std::string& org_slug, const std::string& admin_password,
                               int samples, Report& report);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_PROPAGATION_H_
