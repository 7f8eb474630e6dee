#include "tests/integration/test_db.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <vector>

#include "core/encoding.h"

namespace tessera::testing {
namespace {

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 256> buf;
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  int rc = pclose(p);
  if (rc != 0) {
    ADD_FAILURE() << cmd << " failed: " << out;
    std::abort();
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string g_own_dir;

void StopOwnCluster() {
  if (g_own_dir.empty()) return;
  std::system((ScriptsDir() + "/pg destroy " + g_own_dir + "/data >/dev/null 2>&1").c_str());
  std::system(("rm -rf " + g_own_dir).c_str());
}

std::mutex g_made_mu;
std::vector<std::string> g_made;  // databases this process made

// Drops the databases this test process made once its tests are done, whoever still holds a
// connection to them (WITH (FORCE)), so a run leaves nothing behind.
class DropDatabases final : public ::testing::Environment {
 public:
  void TearDown() override;
};

const std::string& ServerUrl() {
  static std::once_flag once;
  static std::string url;
  std::call_once(once, [] {
    if (const char* dir = std::getenv("TESSERA_TEST_PG_DIR"); dir != nullptr && *dir) {
      url = Run(ScriptsDir() + "/pg url " + dir);
      return;
    }
    char tmpl[] = "/tmp/tessera-test-XXXXXX";
    g_own_dir = mkdtemp(tmpl);
    std::system(("chmod 755 " + g_own_dir).c_str());
    url = Run("PG_FSYNC=off " + ScriptsDir() + "/pg start " + g_own_dir + "/data");
    std::atexit(StopOwnCluster);
  });
  return url;
}

void DropDatabases::TearDown() {
  std::vector<std::string> made;
  {
    std::lock_guard<std::mutex> lock(g_made_mu);
    made.swap(g_made);
  }
  if (made.empty()) return;
  try {
    pqxx::connection conn(ServerUrl());
    for (const std::string& name : made) {
      pqxx::nontransaction(conn).exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop the test databases: " << e.what();
  }
}

[[maybe_unused]] ::testing::Environment* const g_drop_databases =
    ::testing::AddGlobalTestEnvironment(new DropDatabases);

}  // namespace

std::string ScriptsDir() { return TESSERA_SOURCE_DIR "/scripts"; }

std::string FreshDatabaseUrl() {
  const std::string& server = ServerUrl();
  std::string name = "t_" + RandomHex(8);
  {
    pqxx::connection conn(server);
    pqxx::nontransaction(conn).exec("CREATE DATABASE " + name);
  }
  {
    std::lock_guard<std::mutex> lock(g_made_mu);
    g_made.push_back(name);
  }
  return server.substr(0, server.rfind('/') + 1) + name;
}

std::string QueryValue(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

std::string TablesHolding(const std::string& url, const std::string& needle) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  std::string out;
  auto tables = tx.exec(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
      " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
  for (const auto& t : tables) {
    std::string name = t[0].as<std::string>();
    auto hit = tx.exec_params(
        "SELECT 1 FROM " + name + " r WHERE strpos(lower(r::text), lower($1)) > 0 LIMIT 1", needle);
    if (!hit.empty()) out += (out.empty() ? "" : ",") + name;
  }
  return out;
}

}  // namespace tessera::testing
