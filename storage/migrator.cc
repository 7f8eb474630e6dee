#include "storage/migrator.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "storage/migrations.h"

namespace tessera {
namespace {

// pg_advisory_lock key: "tessera" in ASCII, so other applications sharing the server are unlikely
// to collide with it.
constexpr int64_t kMigrationLock = 0x74657373657261;

}  // namespace

absl::StatusOr<int> MigrateDatabase(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction(conn).exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLock, ")"));
    int applied = 0;
    {
      pqxx::work tx(conn);
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    for (const Migration& m : Migrations()) {
      pqxx::work tx(conn);
      auto done = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
      if (!done.empty()) continue;
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
      tx.commit();
      ++applied;
    }
    pqxx::nontransaction(conn).exec(
        absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLock, ")"));
    return applied;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("migrate: cannot reach the database: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("migrate failed: ", e.what()));
  }
}

}  // namespace tessera
