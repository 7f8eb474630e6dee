// Stores and migrations against a real PostgreSQL: every write with its audit row in the same
// transaction (and none when the write fails), migrations idempotent and race-free.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "storage/migrations.h"
#include "storage/migrator.h"
#include "storage/pg_pool.h"
#include "storage/pg_stores.h"
#include "tests/integration/test_db.h"

namespace tessera {
namespace {

using testing::FreshDatabaseUrl;
using testing::QueryValue;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

AuditActor Actor(const std::string& org) {
  return AuditActor{
      .org_id = org, .at = kT0, .actor_id = "tester", .peer = "test", .request_id = "r1"};
}

TEST(MigrationTest, AppliedTwiceIsANoop) {
  std::string url = FreshDatabaseUrl();
  auto first = MigrateDatabase(url);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, static_cast<int>(Migrations().size()));
  auto second = MigrateDatabase(url);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM schema_migrations"),
            std::to_string(Migrations().size()));
}

TEST(MigrationTest, ConcurrentRunsApplyEachMigrationOnce) {
  std::string url = FreshDatabaseUrl();
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<int>> results(kRunners, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] { results[i] = MigrateDatabase(url); });
  }
  for (auto& t : threads) t.join();
  int total = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    total += *r;
  }
  EXPECT_EQ(total, static_cast<int>(Migrations().size()));
}

// A database from before migration 0006: accounts written by older code, with names that only
// core/names.h folds together.
class LegacyNamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl();
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    tx.exec(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    for (const Migration& m : Migrations()) {
      if (m.version >= 6) break;
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
    }
    org_ = tx.exec(
                 "INSERT INTO organizations (slug, name, created_at) VALUES ('old', 'Old', now())"
                 " RETURNING id")[0][0]
               .as<std::string>();
    tx.commit();
  }
  void AddLegacyAccount(const std::string& username, const std::string& email = "") {
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO accounts (org_id, kind, username, email, password_hash, created_at,"
        " updated_at) VALUES ($1, 'USER', $2, nullif($3, ''), 'h', now(), now())",
        org_, username, email);
    tx.commit();
  }
  std::string url_, org_;
};

TEST_F(LegacyNamesTest, MigrationKeysOldNamesAsTheServiceFoldsThem) {
  AddLegacyAccount("Stra\u00dfe", "Someone@Example.com");
  AddLegacyAccount("JOS\u00c9");
  AddLegacyAccount("boss\u200b");  // a name new accounts may not take: it still logs in
  auto migrated = MigrateDatabase(url_);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  PgPool pool(PgPoolOptions{.url = url_, .max_connections = 1});
  Stores stores = MakePgStores(pool);
  // Found by any form of the name, as new accounts are (not by lower(), which knows no ß).
  for (const char* typed :
       {"strasse", "STRASSE", "someone@example.COM", "jose\u0301", "BOSS\u200b"}) {
    EXPECT_TRUE(stores.accounts->FindForLogin("old", typed).ok()) << typed;
  }
  // And the old names are taken for new accounts.
  auto dup = stores.accounts->Create(
      NewAccount{.org_id = org_, .username = "strasse", .password_hash = "h", .now = kT0},
      AuditActor{.at = kT0}, nullptr);
  EXPECT_TRUE(absl::IsAlreadyExists(dup.status())) << dup.status();
}

TEST_F(LegacyNamesTest, TwoOldNamesThatAreNowOneStopTheMigrationNamingThem) {
  AddLegacyAccount("jos\u00e9");
  AddLegacyAccount("jose\u0301");  // the same name in NFD
  auto migrated = MigrateDatabase(url_);
  ASSERT_FALSE(migrated.ok());
  EXPECT_NE(migrated.status().message().find("organization old: accounts "), std::string::npos)
      << migrated.status();
  EXPECT_NE(migrated.status().message().find("share a login name"), std::string::npos);
  EXPECT_NE(migrated.status().message().find("rename one of them"), std::string::npos);
  EXPECT_EQ(QueryValue(url_, "SELECT max(version) FROM schema_migrations"), "5");  // not applied
}

TEST(MigrationTest, UnreachableDatabaseIsUnavailable) {
  auto r = MigrateDatabase("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl();
    ASSERT_TRUE(MigrateDatabase(url_).ok());
    pool_ = std::make_unique<PgPool>(PgPoolOptions{.url = url_, .max_connections = 4});
    stores_ = MakePgStores(*pool_);
    snapshot_store_ = MakePgSnapshotStore(*pool_);
    auto org = stores_.orgs->Create(
        NewOrganizationWithAdmin{.slug = "acme", .name = "Acme", .now = kT0}, Actor(""), nullptr);
    ASSERT_TRUE(org.ok()) << org.status();
    org_ = org->org.id;
  }
  int AuditCount(const std::string& action) {
    return std::stoi(
        QueryValue(url_, "SELECT count(*) FROM audit_events WHERE action = '" + action + "'"));
  }
  absl::StatusOr<Account> MakeAccount(const std::string& name, std::vector<std::string> roles) {
    return stores_.accounts->Create(NewAccount{.org_id = org_,
                                               .kind = AccountKind::kUser,
                                               .username = name,
                                               .email = name + "@example.com",
                                               .password_hash = "$argon2id$x",
                                               .roles = std::move(roles),
                                               .now = kT0},
                                    Actor(org_), nullptr);
  }

  AccountPermissions Permissions(const std::string& org, const std::string& id) {
    auto p = snapshot_store_->LoadAccount(org, id);
    EXPECT_TRUE(p.ok() && p->has_value()) << p.status();
    return p.ok() && p->has_value() ? **p : AccountPermissions{};
  }

  std::string url_;
  std::unique_ptr<PgPool> pool_;
  Stores stores_;
  std::unique_ptr<SnapshotStore> snapshot_store_;
  std::string org_;
};

TEST_F(StoreTest, AccountLifecycleWithRolesAndPermissions) {
  ASSERT_TRUE(
      stores_.roles->Create(org_, "reader", ScopeSet({"read:shifts"}), kT0, Actor(org_), nullptr)
          .ok());
  ASSERT_TRUE(stores_.roles
                  ->Create(org_, "writer", ScopeSet({"write:shifts", "read:shifts"}), kT0,
                           Actor(org_), nullptr)
                  .ok());
  auto a = MakeAccount("alice", {"reader"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(a->created_at, kT0);

  AccountPermissions perms = Permissions(org_, a->id);
  EXPECT_EQ(perms.scopes, ScopeSet({"read:shifts"}));
  EXPECT_FALSE(perms.disabled);
  EXPECT_EQ(perms.username, "alice");
  EXPECT_FALSE(perms.tokens_valid_after.has_value());

  ASSERT_TRUE(stores_.accounts->AssignRole(org_, a->id, "writer", kT0, Actor(org_), nullptr).ok());
  EXPECT_EQ(Permissions(org_, a->id).scopes, ScopeSet({"read:shifts", "write:shifts"}));
  ASSERT_TRUE(
      stores_.accounts->UnassignRole(org_, a->id, "writer", kT0, Actor(org_), nullptr).ok());
  EXPECT_EQ(Permissions(org_, a->id).scopes, ScopeSet({"read:shifts"}));

  auto login = stores_.accounts->FindForLogin("acme", "ALICE@example.com");
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->account.id, a->id);
  EXPECT_EQ(login->password_hash, "$argon2id$x");
  EXPECT_TRUE(absl::IsNotFound(stores_.accounts->FindForLogin("acme", "bob").status()));
  EXPECT_TRUE(absl::IsNotFound(stores_.accounts->FindForLogin("other", "alice").status()));

  auto disabled = stores_.accounts->Disable(org_, a->id, kT0, Actor(org_), nullptr);
  ASSERT_TRUE(disabled.ok());
  EXPECT_TRUE(disabled->disabled);
  EXPECT_TRUE(Permissions(org_, a->id).disabled);
}

TEST_F(StoreTest, ListPagesThroughEveryAccountOnce) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(MakeAccount("user" + std::to_string(i), {}).ok());
  std::set<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = stores_.accounts->List(org_, 3, after);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& a : page->accounts) EXPECT_TRUE(seen.insert(a.id).second);
    after = page->next_after_id;
    ++pages;
  } while (!after.empty());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(pages, 3);
}

TEST_F(StoreTest, AuditRowLandsWithItsWrite) {
  int before = AuditCount("role.created");
  ASSERT_TRUE(stores_.roles->Create(org_, "r1", ScopeSet({"a:b"}), kT0, Actor(org_), nullptr).ok());
  EXPECT_EQ(AuditCount("role.created"), before + 1);
  auto a = MakeAccount("carol", {"r1"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(QueryValue(url_, "SELECT target_id FROM audit_events WHERE action = 'account.created'"),
            a->id);
  EXPECT_EQ(QueryValue(url_, "SELECT org_id FROM audit_events WHERE action = 'account.created'"),
            org_);
  // The store builds the row: the actor's who, when and from where; the write's what.
  EXPECT_EQ(
      QueryValue(url_,
                 "SELECT actor_id || ' ' || peer || ' ' || request_id || ' ' ||"
                 " (details->>'username') || ' ' || (details->>'kind') || ' ' ||"
                 " (details->'roles'->>0) FROM audit_events WHERE action = 'account.created'"),
      "tester test r1 carol USER r1");
  EXPECT_EQ(QueryValue(url_,
                       "SELECT (details->>'name') || ' ' || (details->'scopes'->>0) FROM"
                       " audit_events WHERE action = 'role.created' AND target_type = 'role'"
                       " ORDER BY id DESC LIMIT 1"),
            "r1 a:b");
}

// A write hands what it committed back to its caller (who applies it to its snapshot); a write
// that fails hands back nothing.
TEST_F(StoreTest, AWriteHandsBackWhatItCommittedAndAFailedOneNothing) {
  auto a = MakeAccount("erin", {});
  ASSERT_TRUE(a.ok()) << a.status();
  Committed disabled;
  ASSERT_TRUE(stores_.accounts->Disable(org_, a->id, kT0, Actor(org_), &disabled).ok());
  ASSERT_EQ(disabled.changes.size(), 1u);
  EXPECT_EQ(disabled.changes[0].kind, ChangeKind::kAccount);
  EXPECT_EQ(disabled.changes[0].id, a->id);
  Committed nothing;
  auto missing = stores_.accounts->Disable(org_, "00000000-0000-4000-8000-00000000ffff", kT0,
                                           Actor(org_), &nothing);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_TRUE(nothing.changes.empty());
}

TEST_F(StoreTest, FailedWriteLeavesNoAuditRow) {
  ASSERT_TRUE(stores_.roles->Create(org_, "dup", ScopeSet(), kT0, Actor(org_), nullptr).ok());
  int roles_audited = AuditCount("role.created");
  auto again = stores_.roles->Create(org_, "dup", ScopeSet(), kT0, Actor(org_), nullptr);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_EQ(AuditCount("role.created"), roles_audited);

  // An account naming a missing role is refused whole: no account, no assignment, no audit row.
  int accounts_audited = AuditCount("account.created");
  auto bad = MakeAccount("dave", {"no-such-role"});
  EXPECT_TRUE(absl::IsNotFound(bad.status())) << bad.status();
  EXPECT_EQ(AuditCount("account.created"), accounts_audited);
  EXPECT_EQ(QueryValue(url_, "SELECT count(*) FROM accounts WHERE username = 'dave'"), "0");

  ASSERT_TRUE(MakeAccount("erin", {}).ok());
  int after_first = AuditCount("account.created");
  EXPECT_TRUE(absl::IsAlreadyExists(MakeAccount("erin", {}).status()));
  EXPECT_EQ(AuditCount("account.created"), after_first);
}

TEST_F(StoreTest, BootstrapIsIdempotentUnderConcurrency) {
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<CreatedOrganization>> results(kRunners, absl::UnknownError(""));
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      results[i] = stores_.orgs->Bootstrap(NewOrganizationWithAdmin{.slug = "platform",
                                                                    .name = "Platform",
                                                                    .platform = true,
                                                                    .admin_username = "admin",
                                                                    .admin_password_hash = "h",
                                                                    .now = kT0},
                                           Actor(""), nullptr);
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    created += r->created ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(QueryValue(url_, "SELECT count(*) FROM organizations WHERE slug = 'platform'"), "1");
  EXPECT_EQ(QueryValue(url_, "SELECT platform FROM organizations WHERE slug = 'platform'"), "t");
}

TEST_F(StoreTest, CrossTenantRowsAreInvisible) {
  auto other = stores_.orgs->Create(
      NewOrganizationWithAdmin{.slug = "globex", .name = "Globex", .now = kT0}, Actor(""), nullptr);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      stores_.roles->Create(org_, "mine", ScopeSet({"a:b"}), kT0, Actor(org_), nullptr).ok());
  auto a = MakeAccount("alice", {"mine"});
  ASSERT_TRUE(a.ok());
  const std::string& b = other->org.id;
  EXPECT_TRUE(absl::IsNotFound(stores_.accounts->Get(b, a->id).status()));
  EXPECT_FALSE(snapshot_store_->LoadAccount(b, a->id)->has_value());
  EXPECT_TRUE(
      absl::IsNotFound(stores_.accounts->Disable(b, a->id, kT0, Actor(b), nullptr).status()));
  EXPECT_TRUE(
      absl::IsNotFound(stores_.accounts->AssignRole(b, a->id, "mine", kT0, Actor(b), nullptr)));
  EXPECT_TRUE(stores_.accounts->List(b, 10, "")->accounts.empty());
  EXPECT_FALSE(stores_.accounts->Get(org_, a->id)->disabled);
}

TEST_F(StoreTest, FirstSigningKeyIsCreatedOnceAcrossReplicas) {
  constexpr int kReplicas = 4;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<std::vector<SigningKeyRecord>>> results(kReplicas,
                                                                     absl::UnknownError(""));
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      // Each replica offers a key of its own; exactly one may win.
      SigningKeyRecord k{.kid = "kid" + std::to_string(i),
                         .alg = "ES256",
                         .public_pem = "p" + std::to_string(i),
                         .private_key_sealed = std::string("\x00\x01\xff", 3) + char('0' + i),
                         .created_at = kT0,
                         .activates_at = kT0};
      results[i] = stores_.signing_keys->EnsureActiveKey(k, Actor(""), nullptr);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(QueryValue(url_, "SELECT count(*) FROM signing_keys"), "1");
  EXPECT_EQ(AuditCount("signing_key.created"), 1);
  std::string winner = QueryValue(url_, "SELECT kid FROM signing_keys");
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].kid, winner) << "a replica was answered with a key that did not win";
    EXPECT_EQ((*r)[0].private_key_sealed, std::string("\x00\x01\xff", 3) + winner.back());
  }
}

TEST(PgPoolTest, UnreachableServerIsUnavailable) {
  PgPool pool(PgPoolOptions{.url = "postgresql://postgres@127.0.0.1:1/x?connect_timeout=2"});
  EXPECT_TRUE(absl::IsUnavailable(pool.Ping()));
}

}  // namespace
}  // namespace tessera
