// A real PostgreSQL for integration tests. Under ctest the cluster is started once by the
// `pg_start` fixture (TESSERA_TEST_PG_DIR); run directly, a test binary starts its own cluster
// with scripts/pg and stops it at exit. Each test gets a database of its own.
#ifndef TESSERA_TESTS_INTEGRATION_TEST_DB_H_
#define TESSERA_TESTS_INTEGRATION_TEST_DB_H_

#include <string>

namespace tessera::testing {

// URL of a new, empty database (not yet migrated).
std::string FreshDatabaseUrl();
// Runs one SQL statement and returns the first column of the first row ("" if none).
std::string QueryValue(const std::string& url, const std::string& sql);
// The tables of the database at `url` with a row whose text holds `needle` (case-insensitive),
// comma-separated; "" when none does. For proving that a secret is stored nowhere in plaintext.
std::string TablesHolding(const std::string& url, const std::string& needle);
// Path to the scripts/ folder of the source tree.
std::string ScriptsDir();

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_INTEGRATION_TEST_DB_H_
