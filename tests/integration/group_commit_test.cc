// Group commit (storage/group_commit.h) through the stores that use it, with batches forced
// rather than hoped for: one writer, held up by a lock a second connection keeps, while the
// calls under test queue behind it; once the lock goes they commit as one batch. PostgreSQL's
// own record says they did: rows written by one transaction share its xmin.
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
constexpr int kQueued = 10;

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl();
    ASSERT_TRUE(MigrateDatabase(url_).ok());
    pool_ = std::make_unique<PgPool>(PgPoolOptions{.url = url_, .max_connections = 4});
    // One writer, so the calls that arrive while it waits make the next batch.
    stores_ = MakePgStores(*pool_, GroupCommitOptions{.max_batch = 64, .writers = 1});
    auto org = stores_.orgs->Create(
        NewOrganizationWithAdmin{.slug = "acme", .name = "Acme", .now = kT0}, Actor(), nullptr);
    ASSERT_TRUE(org.ok()) << org.status();
    org_ = org->org.id;
    for (const char* name : {"alice", "bob"}) {
      auto a = stores_.accounts->Create(NewAccount{.org_id = org_,
                                                   .kind = AccountKind::kUser,
                                                   .username = name,
                                                   .password_hash = kPasswordHash,
                                                   .now = kT0},
                                        Actor(), nullptr);
      ASSERT_TRUE(a.ok()) << a.status();
      accounts_.push_back(a->id);
    }
  }

  AuditActor Actor(const std::string& request_id = "") const {
    return AuditActor{
        .org_id = org_, .at = kT0, .actor_id = "tester", .peer = "test", .request_id = request_id};
  }
  std::string Query(const std::string& sql) { return QueryValue(url_, sql); }

  // Starts a family for account `a` whose first token has digest `digest`.
  void Family(int a, const std::string& family_id, const std::string& digest) {
    RefreshTokenRow row{.family_id = family_id,
                        .org_id = org_,
                        .account_id = accounts_[static_cast<size_t>(a)],
                        .digest = digest,
                        .scopes = ScopeSet({"read:x"}),
                        .audience = "test",
                        .created_at = kT0,
                        .expires_at = kT0 + absl::Hours(1),
                        .family_expires_at = kT0 + absl::Hours(2)};
    auto f = stores_.refresh_tokens->CreateFamily(row, kPasswordHash, "", Actor(), nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->refused, NewFamilyRefusal::kNone);
  }
  absl::StatusOr<RefreshResult> Rotate(const std::string& digest, const std::string& request_id) {
    return stores_.refresh_tokens->Rotate(RefreshRotation{.presented_digest = digest,
                                                          .child_digest = digest + "-child",
                                                          .now = kT0 + absl::Seconds(1),
                                                          .grace = absl::Seconds(10),
                                                          .child_ttl = absl::Hours(1)},
                                          Actor(request_id), nullptr);
  }
  absl::Status Revoke(const std::string& org_id, const std::string& jti) {
    return stores_.revocations->RevokeAccessToken(org_id, jti, kT0 + absl::Minutes(15), kT0,
                                                  Actor("revoke-" + jti), nullptr);
  }

  // Waits until PostgreSQL shows a session of this database waiting for a lock.
  bool SomeoneWaitsForALock() {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'") != "0") {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  // Runs `first` (which must wait for the lock `hold` takes on a second connection), then the
  // `kQueued` calls of `queued` (index 0..kQueued-1) while the only writer is stuck; then lets
  // go. The queued calls have had time to queue: each only appends itself to the queue.
  template <typename First, typename Queued>
  void Batched(const std::string& hold, First first, Queued queued) {
    pqxx::connection conn(url_);
    pqxx::work held(conn);
    held.exec(hold);
    std::vector<std::jthread> threads;
    threads.emplace_back(first);
    ASSERT_TRUE(SomeoneWaitsForALock()) << "the first call did not wait for the lock";
    for (int i = 0; i < kQueued; ++i) threads.emplace_back([&queued, i] { queued(i); });
    absl::SleepFor(absl::Milliseconds(300));
    held.commit();
    threads.clear();  // joins
  }

  std::string url_;
  std::unique_ptr<PgPool> pool_;
  Stores stores_;
  std::string org_;
  std::vector<std::string> accounts_;
};

TEST_F(GroupCommitTest, QueuedRevocationsCommitInOneTransaction) {
  std::vector<absl::Status> status(kQueued);
  Batched(
      "LOCK TABLE revoked_access_tokens IN EXCLUSIVE MODE",
      [&] { EXPECT_TRUE(Revoke(org_, "first").ok()); },
      [&](int i) { status[static_cast<size_t>(i)] = Revoke(org_, absl::StrCat("jti-", i)); });
  for (const auto& s : status) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM revoked_access_tokens"
                  " WHERE jti LIKE 'jti-%'"),
            "1")
      << "the queued revocations were not committed together";
  EXPECT_EQ(Query("SELECT count(*) FROM revoked_access_tokens"), std::to_string(kQueued + 1));
  // Each with its audit row, in the same transaction as its write.
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events e JOIN revoked_access_tokens r"
                  " ON e.target_id = r.jti AND e.xmin = r.xmin"
                  " WHERE e.action = 'token.revoked' AND e.request_id = 'revoke-' || r.jti"),
            std::to_string(kQueued + 1));
}

TEST_F(GroupCommitTest, OneFailingItemFailsAloneAndItsNeighboursCommit) {
  // An organization that does not exist violates the foreign key: that item's error fails the
  // whole batch, which is then committed item by item.
  const std::string nowhere = "00000000-0000-4000-8000-00000000dead";
  std::vector<absl::Status> status(kQueued);
  Batched(
      "LOCK TABLE revoked_access_tokens IN EXCLUSIVE MODE",
      [&] { EXPECT_TRUE(Revoke(org_, "first").ok()); },
      [&](int i) {
        status[static_cast<size_t>(i)] = Revoke(i == 3 ? nowhere : org_, absl::StrCat("jti-", i));
      });
  for (int i = 0; i < kQueued; ++i) {
    if (i == 3) {
      EXPECT_TRUE(absl::IsNotFound(status[3])) << status[3];
    } else {
      EXPECT_TRUE(status[static_cast<size_t>(i)].ok()) << i << ": " << status[i];
    }
  }
  EXPECT_EQ(Query("SELECT count(*) FROM revoked_access_tokens WHERE jti LIKE 'jti-%'"),
            std::to_string(kQueued - 1));
  EXPECT_EQ(Query("SELECT count(*) FROM revoked_access_tokens WHERE jti = 'jti-3'"), "0");
  // They were in one batch with the culprit: after it failed, each committed on its own.
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM revoked_access_tokens"
                  " WHERE jti LIKE 'jti-%'"),
            std::to_string(kQueued - 1));
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action = 'token.revoked'"),
            std::to_string(kQueued));
}

TEST_F(GroupCommitTest, TwoRotationsOfOneTokenInOneBatchGetOneChild) {
  // alice's rotation holds the writer; bob's token is presented kQueued times behind it, and
  // bob's other family, and one unknown token, ride in the same batch.
  Family(0, "00000000-0000-4000-8000-0000000000a1", "alice-0");
  Family(1, "00000000-0000-4000-8000-0000000000b1", "bob-0");
  Family(1, "00000000-0000-4000-8000-0000000000b2", "bob-other");
  std::vector<absl::StatusOr<RefreshResult>> results(kQueued, absl::UnknownError("not run"));
  Batched(
      "LOCK TABLE audit_events IN EXCLUSIVE MODE",
      [&] { EXPECT_TRUE(Rotate("alice-0", "first").ok()); },
      [&](int i) {
        std::string digest = i == 8 ? "bob-other" : i == 9 ? "nobody" : "bob-0";
        results[static_cast<size_t>(i)] = Rotate(digest, absl::StrCat("rotate-", i));
      });
  int rotated = 0, replayed = 0;
  std::set<std::string> children;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(results[static_cast<size_t>(i)].ok()) << results[i].status();
    const RefreshResult& r = *results[static_cast<size_t>(i)];
    rotated += r.outcome == RefreshOutcome::kRotated;
    replayed += r.outcome == RefreshOutcome::kGraceReplay;
    children.insert(r.child_id);
    EXPECT_EQ(r.account.username, "bob");
    EXPECT_EQ(r.org.slug, "acme");
  }
  EXPECT_EQ(rotated, 1);
  EXPECT_EQ(replayed, 7);
  EXPECT_EQ(children.size(), 1u) << "one token got two children";
  ASSERT_TRUE(results[8].ok());
  EXPECT_EQ(results[8]->outcome, RefreshOutcome::kRotated);
  ASSERT_TRUE(results[9].ok());
  EXPECT_EQ(results[9]->outcome, RefreshOutcome::kInvalid);
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens WHERE digest = 'bob-0-child'"), "1");
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM refresh_tokens"
                  " WHERE digest IN ('bob-0-child', 'bob-other-child')"),
            "1")
      << "the queued rotations were not committed together";
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action = 'token.refreshed'"), "3");
}

TEST_F(GroupCommitTest, ReuseInABatchRevokesItsFamilyOnly) {
  Family(0, "00000000-0000-4000-8000-0000000000a1", "alice-0");
  Family(1, "00000000-0000-4000-8000-0000000000b1", "bob-0");
  Family(1, "00000000-0000-4000-8000-0000000000b2", "bob-other");
  // bob-0 spent outside the grace window: presenting it again is reuse.
  ASSERT_TRUE(stores_.refresh_tokens
                  ->Rotate(RefreshRotation{.presented_digest = "bob-0",
                                           .child_digest = "bob-0-child",
                                           .now = kT0 - absl::Minutes(5),
                                           .grace = absl::Seconds(10),
                                           .child_ttl = absl::Hours(1)},
                           Actor(), nullptr)
                  .ok());
  std::vector<absl::StatusOr<RefreshResult>> results(kQueued, absl::UnknownError("not run"));
  Batched(
      "LOCK TABLE audit_events IN EXCLUSIVE MODE",
      [&] { EXPECT_TRUE(Rotate("alice-0", "first").ok()); },
      [&](int i) {
        std::string digest = i == 0 ? "bob-0" : i == 1 ? "bob-other" : absl::StrCat("nobody-", i);
        results[static_cast<size_t>(i)] = Rotate(digest, absl::StrCat("rotate-", i));
      });
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->outcome, RefreshOutcome::kReuse);
  EXPECT_EQ(Query("SELECT bool_and(revoked_at IS NOT NULL) FROM refresh_tokens"
                  " WHERE family_id = '00000000-0000-4000-8000-0000000000b1'"),
            "t");
  // The other family of the same account, later in the batch, is untouched by the reuse.
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(results[1]->outcome, RefreshOutcome::kRotated);
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL"
                  " AND family_id = '00000000-0000-4000-8000-0000000000b2'"),
            "0");
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action = 'refresh.reuse_detected'"),
            "1");
}

TEST_F(GroupCommitTest, ALockedAccountHoldsUpOnlyItsOwnCaller) {
  // Another transaction holds bob's account (a long revocation of all his sessions, say): bob's
  // rotation waits for it, alone; alice's, behind it in the queue of the only writer, does not.
  Family(0, "00000000-0000-4000-8000-0000000000a1", "alice-0");
  Family(1, "00000000-0000-4000-8000-0000000000b1", "bob-0");
  pqxx::connection conn(url_);
  pqxx::work held(conn);
  held.exec(absl::StrCat("SELECT 1 FROM accounts WHERE id = '", accounts_[1], "' FOR UPDATE"));
  std::atomic<bool> bob_done{false};
  absl::StatusOr<RefreshResult> bob = absl::UnknownError("not run");
  std::jthread bob_thread([&] {
    bob = Rotate("bob-0", "bob");
    bob_done.store(true);
  });
  ASSERT_TRUE(SomeoneWaitsForALock()) << "bob's rotation did not wait for his account";
  auto alice = Rotate("alice-0", "alice");  // would hang here if bob's wait held the writer
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->outcome, RefreshOutcome::kRotated);
  EXPECT_FALSE(bob_done.load());
  held.commit();
  bob_thread.join();
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->outcome, RefreshOutcome::kRotated);
  EXPECT_EQ(Query("SELECT count(*) FROM refresh_tokens WHERE digest = 'bob-0-child'"), "1");
}

}  // namespace
}  // namespace tessera
