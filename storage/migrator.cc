#include "storage/migrator.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "storage/migrations.h"
#include "storage/pg_internal.h"

namespace tessera {
namespace {

// pg_advisory_lock key: "tessera" in ASCII, so other applications sharing the server are unlikely
// to collide with it.
constexpr int64_t kMigrationLock = 0x74657373657261;

// Fills account_login_names (migration 0006) from the accounts there are, with the names folded
// by core/names.h as the service folds them. A clash stops the migration, naming both accounts.
void FillLoginNames(pqxx::work& tx) {
  auto accounts = tx.exec(
      "SELECT a.org_id, a.id, a.username, coalesce(a.email, ''), o.slug FROM accounts a"
      " JOIN organizations o ON o.id = a.org_id ORDER BY a.created_at, a.id");
  for (const auto& row : accounts) {
    std::string org = row[0].as<std::string>(), id = row[1].as<std::string>();
    std::string holder;
    absl::Status s = pg_internal::AddLoginNamesTx(tx, org, id, row[2].as<std::string>(),
                                                  row[3].as<std::string>(), &holder);
    if (!s.ok()) {
      throw std::runtime_error(
          absl::StrCat("organization ", row[4].as<std::string>(), ": accounts ", holder, " and ",
                       id, " (", row[2].c_str(),
                       ") share a login name once names are compared ignoring case and"
                       " Unicode form (",
                       s.message(),
                       "); rename one of them (or its email) with SQL, then"
                       " migrate again"));
    }
  }
}

// C++ steps that complete a migration, run in its transaction right after its SQL.
void AfterMigration(int version, pqxx::work& tx) {
  if (version == 6) FillLoginNames(tx);
}

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
      AfterMigration(m.version, tx);
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
