// Brute-force throttling on a real PostgreSQL: the lockout engages at the threshold (also for
// guesses sent in parallel), refuses even the right password, tells the client when to retry
// (`retry-after` trailing metadata) for a backoff that grows, ends after the window (fake
// clock) and resets on success; unknown names and service-token secrets lock the same way;
// the per-peer count; every lockout audited. The SQL counting rule and its in-memory twin are
// checked against each other.
#include <atomic>
#include <thread>
#include <vector>

#include "services/login_guard.h"
#include "storage/migrator.h"
#include "storage/pg_pool.h"
#include "storage/pg_stores.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using testing::QueryValue;

class ThrottleTest : public ServerTest {
 protected:
  // One guess; returns its code and the retry-after it carried ("" when none).
  std::pair<grpc::StatusCode, std::string> Guess(const std::string& org, const std::string& user,
                                                 const std::string& password) {
    v1::IssueTokenRequest req;
    req.mutable_password()->set_org_slug(org);
    req.mutable_password()->set_username(user);
    req.mutable_password()->set_password(password);
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = tokens_->IssueToken(&ctx, req, &resp);
    return {s.error_code(), RetryAfter(ctx)};
  }
  static std::string RetryAfter(const grpc::ClientContext& ctx) {
    auto it = ctx.GetServerTrailingMetadata().find("retry-after");
    if (it == ctx.GetServerTrailingMetadata().end()) return "";
    return std::string(it->second.data(), it->second.size());
  }
  int64_t CountAudit(const std::string& action, const std::string& target_id) {
    return std::stoll(
        QueryValue(config_.database_url, "SELECT count(*) FROM audit_events WHERE action = '" +
                                             action + "' AND target_id = '" + target_id + "'"));
  }
  void FailTimes(int n, const std::string& user) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(Guess("org-a", user, "wrong").first, grpc::StatusCode::UNAUTHENTICATED) << i;
    }
  }
};

TEST_F(ThrottleTest, LockoutEngagesAtTheThresholdAndRefusesTheRightPassword) {
  std::string carol = MakeUser(a_.token, "carol", {"read:x"});
  FailTimes(5, "carol");  // the fifth failure engages the lock
  auto [code, retry] = Guess("org-a", "carol", "password-carol");
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(retry, "60");
  // The refusal of the right password is the same as that of a wrong one.
  EXPECT_EQ(Guess("org-a", "carol", "wrong"), std::make_pair(code, retry));
  EXPECT_EQ(CountAudit("auth.lockout", carol), 1);
  EXPECT_EQ(QueryValue(config_.database_url,
                       "SELECT details->>'failures' || '/' || (details->>'locked_seconds') FROM "
                       "audit_events WHERE action = 'auth.lockout'"),
            "5/60");
}

TEST_F(ThrottleTest, RetryAfterGrowsWithContinuedFailuresAndLockoutEndsAfterTheWindow) {
  MakeUser(a_.token, "carol", {"read:x"});
  FailTimes(5, "carol");
  EXPECT_EQ(Guess("org-a", "carol", "wrong").second, "60");
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Guess("org-a", "carol", "wrong").second, "30");  // counts down
  clock_.Advance(absl::Seconds(31));
  FailTimes(1, "carol");  // allowed again, and wrong: locked twice as long
  EXPECT_EQ(Guess("org-a", "carol", "password-carol").second, "120");
  clock_.Advance(absl::Seconds(121));
  FailTimes(1, "carol");
  EXPECT_EQ(Guess("org-a", "carol", "password-carol").second, "240");
  // However long the failures went on, the lock ends after the window.
  clock_.Advance(absl::Minutes(15));
  EXPECT_EQ(Guess("org-a", "carol", "password-carol").first, grpc::StatusCode::OK);
}

TEST_F(ThrottleTest, SuccessResetsTheCount) {
  MakeUser(a_.token, "carol", {"read:x"});
  for (int round = 0; round < 3; ++round) {
    FailTimes(4, "carol");
    ASSERT_EQ(Guess("org-a", "carol", "password-carol").first, grpc::StatusCode::OK) << round;
  }
  EXPECT_EQ(QueryValue(config_.database_url, "SELECT count(*) FROM auth_throttle"), "0");
}

TEST_F(ThrottleTest, UsernameAndEmailShareOneCount) {
  v1::CreateAccountRequest req;
  req.set_kind(v1::ACCOUNT_KIND_USER);
  req.set_username("dora");
  req.set_email("dora@example.com");
  req.set_password("password-dora");
  v1::CreateAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, req, &resp).ok());
  FailTimes(3, "dora");
  FailTimes(2, "DORA@example.com");
  EXPECT_EQ(Guess("org-a", "dora", "password-dora").first, grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ThrottleTest, AnUnknownNameLocksOutExactlyLikeAKnownOne) {
  FailTimes(5, "nobody");
  auto [code, retry] = Guess("org-a", "nobody", "whatever");
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(retry, "60");
  // Audited on the name's digest: what was typed may be a password (hostile_input_test.cc).
  EXPECT_EQ(QueryValue(config_.database_url,
                       "SELECT count(*) FROM audit_events WHERE action = 'auth.lockout'"
                       " AND target_type = 'login_name' AND target_id <> 'nobody'"),
            "1");
  // Another org's account of the same name is a different subject.
  EXPECT_EQ(Guess("org-b", "nobody", "whatever").first, grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ThrottleTest, ParallelGuessesGetNoMoreThanTheThresholdThrough) {
  MakeUser(a_.token, "carol", {"read:x"});
  constexpr int kGuesses = 24;
  std::vector<grpc::StatusCode> codes(kGuesses);
  std::vector<std::thread> threads;
  for (int i = 0; i < kGuesses; ++i) {
    threads.emplace_back([&, i] { codes[i] = Guess("org-a", "carol", "wrong").first; });
  }
  for (auto& t : threads) t.join();
  int checked = std::count(codes.begin(), codes.end(), grpc::StatusCode::UNAUTHENTICATED);
  int refused = std::count(codes.begin(), codes.end(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(checked, 5);  // each attempt is counted before its password is hashed: no slack
  EXPECT_EQ(refused, kGuesses - 5);
}

// One hashing worker and one queue slot, and hashes slow enough (about a second here) to
// hold both while a test makes other calls.
class SaturatedThrottleTest : public ThrottleTest {
 protected:
  void Configure(Config& c) override {
    c.password_threads = 1;
    c.password_queue = 1;
    c.argon2 = Argon2Params{.memory_kib = 65536, .iterations = 12};
  }
  // Waits until /metrics shows `line` (e.g. "tessera_password_hash_queue_depth 1").
  bool WaitForMetric(const std::string& line) {
    absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (app_->MetricsText().find("\n" + line + "\n") == std::string::npos) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }
  // Two of bob's logins in `blockers`: one hashing, then one waiting. One at a time: the worker
  // (at nice 10) may be slow to take the first, and a second sent at once could find the queue
  // slot still taken by it and be refused. The pool has room again as soon as the first hash
  // ends, which no test can time on a loaded machine: the tests below repeat a round in which
  // the pool drained too early to prove anything.
  void FillPool(std::vector<std::jthread>& blockers) {
    blockers.emplace_back([this] { (void)Guess("org-a", "bob", "password-bob"); });
    ASSERT_TRUE(WaitForMetric("tessera_password_hash_workers{state=\"busy\"} 1"));
    blockers.emplace_back([this] { (void)Guess("org-a", "bob", "password-bob"); });
    ASSERT_TRUE(WaitForMetric("tessera_password_hash_queue_depth 1"));
  }
  static constexpr int kRounds = 6;
};

// A login refused because the hashing pool is full never had its password checked: it must not
// count towards a lockout, or a client retrying through a saturated replica (as the refusal
// tells it to) locks its own account out.
TEST_F(SaturatedThrottleTest, LoginsRefusedForCapacityDoNotCountTowardsALockout) {
  constexpr int kRefusals = 7;  // more than the lockout threshold (5)
  MakeUser(a_.token, "bob", {"read:x"});
  std::string carol = MakeUser(a_.token, "carol", {"read:x"});
  int refused_in_a_row = 0;
  for (int round = 0; round < kRounds && refused_in_a_row < kRefusals; ++round) {
    std::vector<std::jthread> blockers;  // joined however the round ends
    ASSERT_NO_FATAL_FAILURE(FillPool(blockers));
    // Meanwhile carol is refused for capacity more often than the lockout threshold...
    for (refused_in_a_row = 0; refused_in_a_row < kRefusals; ++refused_in_a_row) {
      auto [code, retry] = Guess("org-a", "carol", "password-carol");
      ASSERT_EQ(retry, "") << "refused as locked out after " << refused_in_a_row
                           << " refusals for capacity";
      if (code == grpc::StatusCode::OK) break;  // the pool drained: her success reset the count
      ASSERT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED) << refused_in_a_row;
    }
  }
  ASSERT_EQ(refused_in_a_row, kRefusals) << "the pool never stayed full long enough";
  // ...and is not locked out once the pool has room: her password was never tried.
  EXPECT_EQ(Guess("org-a", "carol", "password-carol").first, grpc::StatusCode::OK);
  EXPECT_EQ(CountAudit("auth.lockout", carol), 0);
}

// After a lockout has run out, the next attempt is counted as the 6th failure and engages a
// longer lock at once. When the pool then refuses it, that lock was engaged by nothing that was
// checked, and goes with the count.
TEST_F(SaturatedThrottleTest, ARefusedAttemptAfterALockoutLeavesNoLongerLock) {
  MakeUser(a_.token, "bob", {"read:x"});
  bool refused = false;
  for (int round = 0; round < kRounds && !refused; ++round) {
    std::string name = "carol" + std::to_string(round);  // a round that got through reset hers
    std::string password = "password-" + name;
    std::string carol = MakeUser(a_.token, name, {"read:x"});
    ASSERT_NO_FATAL_FAILURE(FailTimes(5, name));
    ASSERT_EQ(Guess("org-a", name, password).second, "60");
    clock_.Advance(absl::Seconds(61));
    std::vector<std::jthread> blockers;
    ASSERT_NO_FATAL_FAILURE(FillPool(blockers));
    auto [code, retry] = Guess("org-a", name, password);
    if (code == grpc::StatusCode::OK) continue;  // the pool drained before her attempt
    refused = true;
    EXPECT_EQ(std::make_pair(code, retry),
              std::make_pair(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string()));
    blockers.clear();
    EXPECT_EQ(Guess("org-a", name, password), std::make_pair(grpc::StatusCode::OK, std::string()));
    EXPECT_EQ(CountAudit("auth.lockout", carol), 1);  // the real one only
  }
  EXPECT_TRUE(refused) << "the pool never stayed full long enough";
}

class PeerThrottleTest : public ThrottleTest {
 protected:
  void Configure(Config& c) override {
    c.login_max_failures = 100;
    c.peer_max_failures = 3;
  }
};

TEST_F(PeerThrottleTest, OneAddressGuessingManyNamesIsLockedOut) {
  MakeUser(a_.token, "carol", {"read:x"});
  FailTimes(1, "u1");
  FailTimes(1, "u2");
  FailTimes(1, "u3");
  auto [code, retry] = Guess("org-a", "carol", "password-carol");
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(retry, "60");
  EXPECT_EQ(QueryValue(config_.database_url,
                       "SELECT target_type || ' ' || target_id FROM audit_events"
                       " WHERE action = 'auth.lockout'"),
            "peer ipv4:127.0.0.1");
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Guess("org-a", "carol", "password-carol").first, grpc::StatusCode::OK);
}

class SecretThrottleTest : public ThrottleTest {
 protected:
  void SetUp() override {
    ThrottleTest::SetUp();
    v1::CreateApiKeyRequest req;
    req.set_name("svc");
    req.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
    ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, req, &key_).ok());
  }
  std::pair<grpc::StatusCode, std::string> Exchange(const std::string& secret) {
    v1::IssueTokenRequest req;
    req.mutable_service_token()->set_token(key_.key());
    req.mutable_service_token()->set_secret(secret);
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = tokens_->IssueToken(&ctx, req, &resp);
    return {s.error_code(), RetryAfter(ctx)};
  }
  bool IntrospectActive(const std::string& secret) {
    v1::IntrospectRequest req;
    req.set_token(key_.key());
    req.set_secret(secret);
    return Introspect(req).active();
  }
  v1::IntrospectResponse Introspect(const v1::IntrospectRequest& req) {
    v1::IntrospectResponse resp;
    grpc::Status s = Call(a_.token, &v1::TokenService::Stub::Introspect, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  grpc::StatusCode BearerCall(const std::string& secret) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + key_.key());
    ctx.AddMetadata("x-api-secret", secret);
    v1::GetJwksResponse resp;
    return tokens_->GetJwks(&ctx, v1::GetJwksRequest(), &resp).error_code();
  }
  std::string WrongSecret() const { return std::string(64, 'a'); }
  v1::CreateApiKeyResponse key_;
};

TEST_F(SecretThrottleTest, WrongSecretsLockTheKeyEverywhereItIsUsed) {
  ASSERT_EQ(Exchange(key_.secret()).first, grpc::StatusCode::OK);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(Exchange(WrongSecret()).first, grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(BearerCall("not-even-a-secret"), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_FALSE(IntrospectActive(WrongSecret()));
  ASSERT_EQ(Exchange("").first, grpc::StatusCode::UNAUTHENTICATED);  // the fifth: locked
  auto [code, retry] = Exchange(key_.secret());
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(retry, "60");
  EXPECT_EQ(BearerCall(key_.secret()), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(IntrospectActive(key_.secret()));  // inactive, not an error
  EXPECT_EQ(CountAudit("auth.lockout", key_.api_key().id()), 1);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Exchange(key_.secret()).first, grpc::StatusCode::OK);
  EXPECT_TRUE(IntrospectActive(key_.secret()));
}

class IntrospectorPeerTest : public SecretThrottleTest {
 protected:
  void Configure(Config& c) override {
    c.peer_max_failures = 2;
    c.login_max_failures = 10;  // the key's own count stays below its limit here
  }
};

TEST_F(IntrospectorPeerTest, RelayedWrongSecretsDoNotLockTheIntrospectingCallerOut) {
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(IntrospectActive(WrongSecret()));
  // The introspecting service's address is still welcome, and so is the key's right secret.
  EXPECT_TRUE(IntrospectActive(key_.secret()));
  EXPECT_EQ(BearerCall(key_.secret()), grpc::StatusCode::OK);
  // Presented by the caller itself, wrong secrets do count against its address.
  EXPECT_EQ(BearerCall(WrongSecret()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(BearerCall(WrongSecret()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(BearerCall(key_.secret()), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// The SQL function and ThrottleCounter are the same rule; a scripted run must agree step by step.
TEST(ThrottleRuleTest, SqlAndMemoryCountersAgree) {
  std::string url = testing::FreshDatabaseUrl();
  ASSERT_TRUE(MigrateDatabase(url).ok());
  PgPool pool(PgPoolOptions{.url = url, .max_connections = 1});
  auto store = MakePgThrottleStore(pool);
  ThrottlePolicy policy{.max_failures = 3,
                        .window = absl::Seconds(100),
                        .base_lockout = absl::Seconds(10),
                        .max_lockout = absl::Seconds(50)};
  ThrottleCounter memory;
  absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  // Seconds between attempts: inside the window, during and after locks, past the window.
  for (int step : {0, 1, 1, 1, 5, 6, 1, 21, 1, 41, 1, 50, 101, 1, 1, 1, 200}) {
    t += absl::Seconds(step);
    auto sql = store->CountFailure("subject", t, policy);
    ASSERT_TRUE(sql.ok()) << sql.status();
    ThrottleVerdict mem = CountFailure(memory, t, policy);
    SCOPED_TRACE(absl::FormatTime(t));
    EXPECT_EQ(sql->allowed, mem.allowed);
    EXPECT_EQ(sql->failures, mem.failures);
    EXPECT_EQ(sql->locked_until, mem.locked_until);
  }
  EXPECT_EQ(memory.failures, 1);  // the last attempt came after a quiet window
}

// A success clears the subject's row while other logins of the same account are counting on it
// (the benchmark's parallel logins of one user found this): a count must never see the row vanish
// between its insert and its lock, and must neither fail nor lose the attempt.
TEST(ThrottleRuleTest, CountsRaceClearsOfTheSameSubjectWithoutError) {
  std::string url = testing::FreshDatabaseUrl();
  ASSERT_TRUE(MigrateDatabase(url).ok());
  PgPool pool(PgPoolOptions{.url = url, .max_connections = 8});
  auto store = MakePgThrottleStore(pool);
  ThrottlePolicy policy{.max_failures = 1000000,
                        .window = absl::Seconds(100),
                        .base_lockout = absl::Seconds(10),
                        .max_lockout = absl::Seconds(50)};
  std::atomic<int> errors{0}, counted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        if (t % 2 == 0) {
          auto v = store->CountFailure("account:shared", absl::Now(), policy);
          if (!v.ok() || !v->allowed || v->failures < 1) {
            ADD_FAILURE() << (v.ok() ? "not counted" : v.status().ToString());
            errors.fetch_add(1);
          } else {
            counted.fetch_add(1);
          }
        } else if (!store->Clear("account:shared").ok()) {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(counted.load(), 3 * 150);
}

}  // namespace
}  // namespace tessera
