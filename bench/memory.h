// Memory: what a replica holds for revocations and verified tokens, read as the process's
// resident set after freed heap pages are handed back, so that the difference between two
// readings is memory still in use.
#ifndef TESSERA_BENCH_MEMORY_H_
#define TESSERA_BENCH_MEMORY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"

namespace tessera::bench {

// The resident set of this process in bytes, after malloc_trim.
size_t HeldRssBytes();

// Inserts `count` revocations of distinct access-token jtis (tessera's format, live for another
// hour) for `org_id` in one statement, as a million Revoke calls would leave them.
absl::Status InsertRevokedJtis(const std::string& database_url, const std::string& org_id,
                               int count);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_MEMORY_H_
