// The stores' session lock (storage/pg_internal.h, LockAccountSessions) with the interleavings
// forced rather than hoped for: a second connection holds what a rotation, a login or a
// revocation in flight holds, the store call under test runs beside it, and the test waits until
// PostgreSQL shows that call waiting for a lock before it lets the first one commit. After each,
// nothing of the revoked account or family still refreshes.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "services/auth_snapshot.h"
#include "storage/migrator.h"
#include "storage/pg_pool.h"
#include "storage/pg_stores.h"
#include "tests/integration/test_db.h"

namespace tessera {
namespace {

using testing::FreshDatabaseUrl;
using testing::QueryValue;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
constexpr char kPasswordHash[] = "$argon2id$v=19$m=256,t=1,p=1$c2FsdA$aGFzaA";

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

class SessionLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl();
    ASSERT_TRUE(MigrateDatabase(url_).ok());
    pool_ = std::make_unique<PgPool>(PgPoolOptions{.url = url_, .max_connections = 4});
    stores_ = MakePgStores(*pool_);
    auto org = stores_.orgs->Create(
        NewOrganizationWithAdmin{.slug = "acme", .name = "Acme", .now = kT0}, Audit(), nullptr);
    ASSERT_TRUE(org.ok()) << org.status();
    org_ = org->org.id;
    auto account = stores_.accounts->Create(NewAccount{.org_id = org_,
                                                       .kind = AccountKind::kUser,
                                                       .username = "victim",
                                                       .password_hash = kPasswordHash,
                                                       .now = kT0},
                                            Audit(), nullptr);
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = account->id;
    family_ = "00000000-0000-4000-8000-000000000001";
  }

  AuditActor Audit() const {
    return AuditActor{.org_id = org_, .at = kT0, .actor_id = "tester", .peer = "test"};
  }
  RefreshTokenRow Row(const std::string& digest, absl::Time created_at) const {
    return RefreshTokenRow{.family_id = family_,
                           .org_id = org_,
                           .account_id = account_,
                           .digest = digest,
                           .scopes = ScopeSet({"read:x"}),
                           .audience = "test",
                           .created_at = created_at,
                           .expires_at = created_at + absl::Hours(1),
                           .family_expires_at = created_at + absl::Hours(2)};
  }
  // A login's new family, as the password login makes it after checking kPasswordHash.
  NewFamilyRefusal Login(const RefreshTokenRow& row) {
    auto family = stores_.refresh_tokens->CreateFamily(row, kPasswordHash, "", Audit(), nullptr);
    EXPECT_TRUE(family.ok()) << family.status();
    return family.ok() ? family->refused : NewFamilyRefusal::kAccountEnded;
  }
  absl::StatusOr<RefreshResult> Rotate(const std::string& digest, absl::Time now) {
    return stores_.refresh_tokens->Rotate(RefreshRotation{.presented_digest = digest,
                                                          .child_digest = digest + "-child",
                                                          .now = now,
                                                          .grace = absl::Seconds(10),
                                                          .child_ttl = absl::Hours(1)},
                                          Audit(), nullptr);
  }
  std::string Query(const std::string& sql) { return QueryValue(url_, sql); }
  bool Revoked(const std::string& digest) {
    return Query("SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE digest = '" + digest +
                 "'") == "t";
  }

  // Runs `call` on a thread of its own while `held` stays open, and returns once PostgreSQL
  // shows a session of this database waiting for a lock (true), or `call` finished first
  // (false: it did not wait for what `held` holds). Each test declares what the thread writes,
  // then `thread`, then the transaction it holds: a failed assertion ends that transaction,
  // then joins the thread, and only then destroys what the thread wrote to.
  template <typename Fn>
  bool StartsWaiting(std::jthread& thread, std::atomic<bool>& done, Fn call) {
    thread = std::jthread([&done, call] {
      call();
      done.store(true);
    });
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!done.load() && absl::Now() < deadline) {
      if (Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'") != "0") {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  // What a rotation of `parent` holds until it commits, whose clock read `now`: the account's
  // session lock (shared), the parent row spent, the child inserted.
  void HoldRotation(pqxx::work& held, const std::string& parent, const std::string& child,
                    absl::Time now) {
    held.exec_params("SELECT 1 FROM accounts WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE", org_,
                     account_);
    auto parent_id = held.exec_params(
        "UPDATE refresh_tokens SET used_at = tessera_ts($2) WHERE digest = $1 RETURNING id", parent,
        Us(now));
    held.exec_params(
        "INSERT INTO refresh_tokens (org_id, family_id, parent_id, account_id, digest, scopes,"
        " audience, created_at, expires_at, family_expires_at) VALUES ($1, $2, $3, $4, $5,"
        " ARRAY['read:x'], 'test', tessera_ts($6), tessera_ts($7), tessera_ts($7))",
        org_, family_, parent_id[0][0].as<std::string>(), account_, child, Us(now),
        Us(now + absl::Hours(1)));
  }

  // A login's token d0 is being rotated to d1 at `rotated_at` (uncommitted) when `end` runs:
  // `end` must wait for the rotation, and then nothing of the session refreshes any more.
  void EndBesideARotation(absl::Time rotated_at, std::function<absl::Status()> end) {
    ASSERT_EQ(Login(Row("d0", kT0)), NewFamilyRefusal::kNone);
    absl::Status status;
    std::atomic<bool> done{false};
    std::jthread ending;
    pqxx::connection conn(url_);
    pqxx::work held(conn);
    HoldRotation(held, "d0", "d1", rotated_at);
    ASSERT_TRUE(StartsWaiting(ending, done, [&] { status = end(); }))
        << "the ending did not wait for the rotation in flight";
    held.commit();
    ending.join();
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(Revoked("d1")) << "the child the rotation inserted escaped the ending";
    auto r = Rotate("d1", rotated_at + absl::Seconds(2));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outcome, RefreshOutcome::kInvalid);
  }

  std::string url_;
  std::unique_ptr<PgPool> pool_;
  Stores stores_;
  std::string org_, account_, family_;
};

TEST_F(SessionLockTest, AccountRevocationWaitsForARotationInFlightAndCoversItsChild) {
  // The rotation's clock read 1.5 s later than the revocation's.
  EndBesideARotation(kT0 + absl::Milliseconds(1500), [&] {
    return stores_.revocations->RevokeAccount(org_, account_, kT0, Audit(), nullptr);
  });
  // The cutoff covers the child's access token, whose iat is the child's creation second.
  EXPECT_GE(std::stoll(Query("SELECT tessera_us(tokens_valid_after) FROM accounts WHERE id = '" +
                             account_ + "'")),
            Us(kT0 + absl::Milliseconds(1500)));
}

TEST_F(SessionLockTest, FamilyRevocationWaitsForARotationInFlightAndRevokesItsChild) {
  EndBesideARotation(kT0 + absl::Seconds(1), [&] {
    return stores_.revocations->RevokeFamily(org_, family_, kT0, Audit(), nullptr);
  });
}

TEST_F(SessionLockTest, ReuseDetectionWaitsForARotationInFlightAndRevokesItsChild) {
  ASSERT_EQ(Login(Row("d0", kT0)), NewFamilyRefusal::kNone);
  auto first = Rotate("d0", kT0 + absl::Seconds(1));  // d0 spent; its child "d0-child" is live
  ASSERT_TRUE(first.ok() && first->outcome == RefreshOutcome::kRotated);
  absl::StatusOr<RefreshResult> reuse;
  std::atomic<bool> done{false};
  std::jthread replay;
  pqxx::connection conn(url_);
  pqxx::work held(conn);
  HoldRotation(held, "d0-child", "d2", kT0 + absl::Seconds(2));
  // d0 again, after its child was spent: reuse, which revokes the family.
  ASSERT_TRUE(StartsWaiting(replay, done, [&] { reuse = Rotate("d0", kT0 + absl::Seconds(20)); }));
  held.commit();
  replay.join();
  ASSERT_TRUE(reuse.ok()) << reuse.status();
  EXPECT_EQ(reuse->outcome, RefreshOutcome::kReuse);
  EXPECT_TRUE(Revoked("d2")) << "the child the rotation inserted escaped reuse detection";
  auto r = Rotate("d2", kT0 + absl::Seconds(21));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RefreshOutcome::kInvalid);
}

TEST_F(SessionLockTest, RotationWaitsForAnAccountRevocationInFlightAndSeesItsCutoff) {
  ASSERT_EQ(Login(Row("d0", kT0)), NewFamilyRefusal::kNone);
  absl::StatusOr<RefreshResult> r;
  std::atomic<bool> done{false};
  std::jthread rotate;
  pqxx::connection conn(url_);
  pqxx::work held(conn);
  // The cutoff alone, before any refresh_tokens row is touched: what RevokeAccount holds first.
  held.exec_params("SELECT 1 FROM accounts WHERE org_id = $1 AND id = $2 FOR UPDATE", org_,
                   account_);
  held.exec_params("UPDATE accounts SET tokens_valid_after = tessera_ts($2) WHERE id = $1",
                   account_, Us(kT0 + absl::Milliseconds(500)));
  ASSERT_TRUE(StartsWaiting(rotate, done, [&] { r = Rotate("d0", kT0 + absl::Seconds(2)); }));
  held.commit();
  rotate.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RefreshOutcome::kInvalid);
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens"), "1");  // no child
}

TEST_F(SessionLockTest, TwoRotationsOfOneTokenMakeOneChild) {
  ASSERT_EQ(Login(Row("d0", kT0)), NewFamilyRefusal::kNone);
  absl::StatusOr<RefreshResult> r;
  std::atomic<bool> done{false};
  std::jthread second;
  pqxx::connection conn(url_);
  pqxx::work held(conn);
  // The first rotation holds the token; its child is the one a retry derives too.
  HoldRotation(held, "d0", "d0-child", kT0 + absl::Seconds(1));
  ASSERT_TRUE(StartsWaiting(second, done, [&] { r = Rotate("d0", kT0 + absl::Seconds(2)); }));
  held.commit();
  second.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RefreshOutcome::kGraceReplay);  // the same child, not a second one
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens WHERE parent_id IS NOT NULL"), "1");
  EXPECT_EQ(r->child_id, Query("SELECT id FROM refresh_tokens WHERE digest = 'd0-child'"));
}

// A key and its account's disabling are not serialized (a key's insert takes only a key-share
// lock on the account row, which an UPDATE of it does not block): whichever commits first, the
// key must never be usable once the disabling has committed. It is the snapshot that holds the
// rule (a key counts only while its account is enabled); a snapshot loaded after both shows it.
TEST_F(SessionLockTest, AKeyOfAnAccountBeingDisabledIsNeverActive) {
  auto create = [&](const std::string& digest) {
    return stores_.api_keys->Create(NewApiKeyRow{.org_id = org_,
                                                 .account_id = account_,
                                                 .kind = ApiKeyKind::kUserToken,
                                                 .name = digest,
                                                 .display_prefix = "tsr_00000000",
                                                 .digest = digest,
                                                 .now = kT0},
                                    Audit(), nullptr);
  };
  auto active = [&](const std::string& digest) {
    FakeClock clock(kT0 + absl::Seconds(1));
    auto snapshot_store = MakePgSnapshotStore(*pool_);
    AuthSnapshot snapshot(clock, *snapshot_store, SnapshotOptions{}, nullptr);
    EXPECT_TRUE(snapshot.Resync().ok());
    auto key = snapshot.ActiveApiKey(digest);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() && key->has_value();
  };
  // Before any disabling, the snapshot does hold a key made now (so the check below can fail).
  ASSERT_TRUE(create("before").ok());
  ASSERT_TRUE(active("before"));
  // The key's insert lands while the disabling is uncommitted; then the disabling commits.
  {
    pqxx::connection conn(url_);
    pqxx::work held(conn);
    held.exec_params("UPDATE accounts SET disabled = true WHERE id = $1", account_);
    ASSERT_TRUE(create("beside").ok());  // did not wait: it returned before the commit
    held.commit();
  }
  EXPECT_FALSE(active("beside"));
  EXPECT_FALSE(active("before"));
}

TEST_F(SessionLockTest, LoginWaitsForAnEndingInFlightAndGetsNoSession) {
  pqxx::connection conn(url_);
  struct Ending {
    const char* what;
    std::string sql;  // what the ending holds, uncommitted
    absl::Time login_at;
    NewFamilyRefusal expected;
  };
  const Ending endings[] = {
      // Issued in the same second as the cutoff: its access token would be dead on arrival.
      {"log out everywhere",
       "UPDATE accounts SET tokens_valid_after = tessera_ts(" +
           std::to_string(Us(kT0 + absl::Milliseconds(500))) + ") WHERE id = '" + account_ + "'",
       kT0 + absl::Milliseconds(700), NewFamilyRefusal::kRevokedThisSecond},
      {"a password rotation",
       "UPDATE accounts SET password_hash = 'another' WHERE id = '" + account_ + "'",
       kT0 + absl::Seconds(5), NewFamilyRefusal::kPasswordChanged},
      {"a disabling", "UPDATE accounts SET disabled = true WHERE id = '" + account_ + "'",
       kT0 + absl::Seconds(6), NewFamilyRefusal::kAccountEnded},
  };
  int n = 0;
  for (const Ending& e : endings) {
    SCOPED_TRACE(e.what);
    NewFamilyRefusal refused = NewFamilyRefusal::kNone;
    std::string digest = "d" + std::to_string(n++);
    std::atomic<bool> done{false};
    std::jthread login;
    pqxx::work held(conn);
    held.exec("SELECT 1 FROM accounts WHERE id = '" + account_ + "' FOR UPDATE");
    held.exec(e.sql);
    ASSERT_TRUE(StartsWaiting(login, done, [&] { refused = Login(Row(digest, e.login_at)); }));
    held.commit();
    login.join();
    EXPECT_EQ(refused, e.expected);
  }
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens"), "0");
}

}  // namespace
}  // namespace tessera
