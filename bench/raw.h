// The raw rates that bound some of tessera's paths, measured by the benchmark program itself so
// that the service's figure can be read as a fraction of what the machine can do at all:
// Argon2id hashes per second (libsodium, which tessera uses, and Debian's libargon2), the commit
// rate of the transaction a Refresh runs, the commit rate of one revocation per transaction, and
// the cost of one signature and one verification per signing algorithm.
#ifndef TESSERA_BENCH_RAW_H_
#define TESSERA_BENCH_RAW_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/load.h"
#include "core/password_hasher.h"
#include "core/signing_key.h"

namespace tessera::bench {

enum class Argon2Library { kLibsodium, kLibargon2 };

// Argon2id with tessera's parameters on `threads` threads, each hashing in a loop.
LoadResult RawArgon2idRate(Argon2Library library, const Argon2Params& params, int threads,
                           const LoadOptions& options);

// Refresh's transaction without tessera: on `connections` connections of its own, each thread
// rotates its own refresh chain with the same statements a Refresh runs (select the presented
// token with its account's scopes FOR UPDATE, insert the child, mark the parent used, append the
// audit row) and commits. `org_id` and `account_id` name an existing account.
LoadResult RawRefreshTransactionRate(const std::string& database_url, const std::string& org_id,
                                     const std::string& account_id, int connections,
                                     const LoadOptions& options);

// What one revocation of an access token durably writes today (PgRevocationStore::
// RevokeAccessToken), one transaction per revocation, without tessera: on `connections`
// connections of its own, each thread inserts a fresh jti into revoked_access_tokens, sends the
// change on a channel of its own (pg_notify with the same payload as tessera's; no replica listens
// to it, so the running service's snapshot is left alone, but the commit pays the same
// notification queue and its lock), appends the audit row and commits. The rows it inserted are
// deleted afterwards, so that later snapshot loads do not count them.
LoadResult RawRevokeCommitRate(const std::string& database_url, const std::string& org_id,
                               const std::string& account_id, int connections,
                               const LoadOptions& options);

struct SignatureCost {
  SigningAlg alg;
  double sign_us = 0;
  double verify_us = 0;    // negative if the token did not verify
  size_t token_bytes = 0;  // an access token's length with this algorithm's signature
};
// Signs and verifies a typical access token's signing input for `per_algorithm` each, on one
// thread.
std::vector<SignatureCost> MeasureSignatureCosts(absl::Duration per_algorithm);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_RAW_H_
