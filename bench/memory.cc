#include "bench/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <pqxx/pqxx>

namespace tessera::bench {

size_t HeldRssBytes() {
  malloc_trim(0);
  long pages_total = 0, pages_resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  int n = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<size_t>(pages_resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

absl::Status InsertRevokedJtis(const std::string& database_url, const std::string& org_id,
                               int count) {
  try {
    pqxx::connection conn(database_url);
    pqxx::work tx(conn);
    // A jti is 32 lowercase hex digits (a UUID without its dashes), as tessera mints them.
    tx.exec_params(
        "INSERT INTO revoked_access_tokens (org_id, jti, expires_at, revoked_at)"
        " SELECT $1, md5(g::text || random()::text), now() + interval '1 hour', now()"
        " FROM generate_series(1, $2) g",
        org_id, count);
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

}  // namespace tessera::bench
