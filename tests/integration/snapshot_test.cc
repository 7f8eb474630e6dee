// The introspection snapshot and its change feed on a real PostgreSQL: Introspect answers from
// memory (the pool's transaction counter does not move), a second replica on the same database
// follows revocations and role changes through LISTEN/NOTIFY, a replica that lost its feed
// reloads in full on reconnecting, and revocations are pruned once they cannot matter.
#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "services/auth_snapshot.h"
#include "storage/pg_change_feed.h"
#include "storage/pg_pool.h"
#include "tests/integration/replica.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

// How long an in-process replica may take to apply a change made on another. Far above the
// few milliseconds it takes, so a loaded CI machine does not flake, and far below anything a
// polling or TTL-based design would need.
constexpr absl::Duration kPropagationBound = absl::Seconds(1);

// Polls `done` until it holds or `bound` passes; returns how long it took, or nullopt.
template <typename Pred>
std::optional<absl::Duration> WaitFor(Pred done, absl::Duration bound = kPropagationBound) {
  absl::Time start = absl::Now();
  while (true) {
    if (done()) return absl::Now() - start;
    if (absl::Now() - start > bound) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Changes the replica measured on arrival: the count of its change-feed lag histogram, as its
// /metrics shows it.
double LagCount(const ServerApp& app) {
  std::string text = app.MetricsText();
  const std::string kName = "\ntessera_change_feed_lag_seconds_count ";
  size_t at = text.find(kName);
  double count = -1;
  if (at != std::string::npos) {
    (void)absl::SimpleAtod(
        text.substr(at + kName.size(), text.find('\n', at + 1) - at - kName.size()), &count);
  }
  return count;
}

class SnapshotTest : public ServerTest {
 protected:
  grpc::Status Revoke(const std::string& caller, const std::string& token) {
    v1::RevokeRequest req;
    req.set_token(token);
    v1::RevokeResponse resp;
    return Call(caller, &v1::TokenService::Stub::Revoke, req, &resp);
  }
  grpc::Status Disable(const std::string& caller, const std::string& account_id) {
    v1::DisableAccountRequest req;
    req.set_account_id(account_id);
    v1::DisableAccountResponse resp;
    return Call(caller, &v1::AdminService::Stub::DisableAccount, req, &resp);
  }
  grpc::Status Unassign(const std::string& caller, const std::string& account_id,
                        const std::string& role) {
    v1::UnassignRoleRequest req;
    req.set_account_id(account_id);
    req.set_role(role);
    v1::UnassignRoleResponse resp;
    return Call(caller, &v1::AdminService::Stub::UnassignRole, req, &resp);
  }
};

TEST_F(SnapshotTest, IntrospectMakesNoDatabaseRoundTrip) {
  MakeUser(a_.token, "alice", {"docs:read"});
  std::string bob_id = MakeUser(a_.token, "bob", {"docs:read"});
  std::string active = Login("org-a", "alice", "password-alice");
  std::string revoked = Login("org-a", "alice", "password-alice");
  std::string disabled = Login("org-a", "bob", "password-bob");
  ASSERT_TRUE(Revoke(a_.token, revoked).ok());
  ASSERT_TRUE(Disable(a_.token, bob_id).ok());
  WaitForFeedEchoes();

  const int64_t before = app_->pool().transactions_started();
  for (int round = 0; round < 3; ++round) {  // the first-seen and the cached path alike
    v1::IntrospectResponse r = Introspect(a_.token, active);
    EXPECT_TRUE(r.active());
    EXPECT_EQ(r.username(), "alice");
    EXPECT_EQ(Scopes(r), std::set<std::string>{"docs:read"});
    EXPECT_FALSE(Introspect(a_.token, revoked).active());
    EXPECT_FALSE(Introspect(a_.token, disabled).active());
    EXPECT_FALSE(Introspect(a_.token, "not-a-token").active());
  }
  EXPECT_EQ(app_->pool().transactions_started(), before);
}

TEST_F(SnapshotTest, SecondReplicaFollowsRevocationsAndRoleChanges) {
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  std::string carol_id = MakeUser(a_.token, "carol", {"docs:read", "docs:write"});
  MakeUser(a_.token, "dave", {"docs:read"});
  std::string carol = Login("org-a", "carol", "password-carol");
  std::string dave = Login("org-a", "dave", "password-dave");
  // Account creation travelled too: replica B knows carol and dave (each arrives on its own).
  ASSERT_TRUE(WaitFor([&] { return b.Introspect(a_.token, carol).active(); }));
  ASSERT_TRUE(WaitFor([&] { return b.Introspect(a_.token, dave).active(); }));
  const double lag_before = LagCount(b.app);

  ASSERT_TRUE(Revoke(a_.token, dave).ok());
  auto revoked_after = WaitFor([&] { return !b.Introspect(a_.token, dave).active(); });
  ASSERT_TRUE(revoked_after) << "replica B still reports the revoked token active after "
                             << kPropagationBound;

  ASSERT_TRUE(Unassign(a_.token, carol_id, "carol-role").ok());
  auto unassigned_after = WaitFor([&] { return Scopes(b.Introspect(a_.token, carol)).empty(); });
  ASSERT_TRUE(unassigned_after) << "replica B still reports carol's scopes after "
                                << kPropagationBound;
  EXPECT_TRUE(b.Introspect(a_.token, carol).active());  // the token lives; its scopes are gone

  ASSERT_TRUE(Disable(a_.token, carol_id).ok());
  ASSERT_TRUE(WaitFor([&] { return !b.Introspect(a_.token, carol).active(); }));
  // Each change was measured on arrival.
  EXPECT_GE(LagCount(b.app), lag_before + 3);
}

TEST_F(SnapshotTest, SecondReplicaFollowsApiKeysAndTheirSecrets) {
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  v1::CreateApiKeyRequest create;
  create.set_name("sync");
  create.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
  create.add_scopes("tokens:introspect");
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, create, &key).ok());
  auto active_on_b = [&](const std::string& secret) {
    v1::IntrospectRequest req;
    req.set_token(key.key());
    req.set_secret(secret);
    v1::IntrospectResponse resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + a_.token);
    EXPECT_TRUE(b.tokens->Introspect(&ctx, req, &resp).ok());
    return resp.active();
  };
  ASSERT_TRUE(WaitFor([&] { return active_on_b(key.secret()); }));

  v1::RotateRequest rotate;
  rotate.mutable_service_token_secret()->set_api_key_id(key.api_key().id());
  v1::RotateResponse rotated;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Rotate, rotate, &rotated).ok());
  ASSERT_TRUE(WaitFor([&] { return !active_on_b(key.secret()); }));  // no overlap asked
  EXPECT_TRUE(active_on_b(rotated.new_secret()));

  v1::RevokeRequest revoke;
  revoke.set_api_key_id(key.api_key().id());
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, revoke, &revoked).ok());
  ASSERT_TRUE(WaitFor([&] { return !active_on_b(rotated.new_secret()); }));
}

TEST_F(SnapshotTest, ReloadsInFullAfterLosingTheFeed) {
  std::string token = Login("org-a", "admin", a_.admin_password);
  v1::IntrospectResponse before = Introspect(a_.token, token);
  ASSERT_TRUE(before.active());
  // Written behind the service's back: no notification travels, so the snapshot cannot know.
  testing::QueryValue(config_.database_url,
                      "INSERT INTO revoked_access_tokens (org_id, jti, expires_at, revoked_at) "
                      "VALUES ('" +
                          a_.id + "', '" + before.jti() + "', now() + interval '1 hour', now())");
  SyncFeed(app_->change_feed());  // whatever the feed had to say about it, it has said
  EXPECT_TRUE(Introspect(a_.token, token).active());
  const int64_t connections = app_->change_feed().connections();

  // Cut the listener off, as a failover or a network blip would.
  std::string db = testing::QueryValue(config_.database_url, "SELECT current_database()");
  testing::QueryValue(config_.database_url,
                      std::string("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE application_name = '") +
                          kChangeFeedApplicationName + "' AND datname = '" + db + "'");
  ASSERT_TRUE(
      WaitFor([&] { return app_->change_feed().connections() > connections; }, absl::Seconds(10)));
  ASSERT_TRUE(app_->change_feed().WaitInSync(absl::Seconds(10)));
  EXPECT_FALSE(Introspect(a_.token, token).active());
}

TEST_F(SnapshotTest, PrunesRevocationsThatCanNoLongerMatter) {
  std::string token = Login("org-a", "admin", a_.admin_password);
  ASSERT_TRUE(Revoke(a_.token, token).ok());
  v1::IssueTokenResponse session;
  ASSERT_TRUE(LoginStatus("org-a", "admin", a_.admin_password, &session).ok());
  ASSERT_TRUE(Revoke(a_.token, session.refresh_token()).ok());
  ASSERT_EQ(app_->snapshot().sizes().revoked_tokens, 1u);
  ASSERT_EQ(app_->snapshot().sizes().revoked_families, 1u);
  app_->snapshot().Prune();
  EXPECT_EQ(app_->snapshot().sizes().revoked_tokens, 1u);  // the token could still be presented

  // Past the access token's expiry and leeway: its revocation goes. The family's stays, since
  // the family has not ended (it could still have minted tokens that live).
  clock_.Advance(config_.access_token_ttl + absl::Seconds(30));
  app_->snapshot().Prune();
  EXPECT_EQ(app_->snapshot().sizes().revoked_tokens, 0u);
  EXPECT_EQ(app_->snapshot().sizes().revoked_families, 1u);
  // A replica starting now loads the same.
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  EXPECT_EQ(b.app.snapshot().sizes().revoked_tokens, 0u);
  EXPECT_EQ(b.app.snapshot().sizes().revoked_families, 1u);
}

// The snapshot keeps revoked jtis packed into 128 bits (core/packed_id.h) with their
// organization: a revocation names a token of its own organization only, and lasts until the
// token's expiry, rounded up to the second.
TEST_F(SnapshotTest, ARevokedJtiCountsInItsOwnOrganizationUntilItsExpiry) {
  std::string token = Login("org-a", "admin", a_.admin_password);
  v1::IntrospectResponse before = Introspect(a_.token, token);
  ASSERT_TRUE(before.active());
  absl::Time expires = absl::FromUnixSeconds(before.exp()) + absl::Milliseconds(1);
  ASSERT_TRUE(app_->snapshot()
                  .Apply(Change{.kind = ChangeKind::kAccessToken,
                                .org_id = b_.id,
                                .id = before.jti(),
                                .expires_at = expires})
                  .ok());
  EXPECT_TRUE(Introspect(a_.token, token).active()) << "another org's revocation matched";
  ASSERT_TRUE(app_->snapshot()
                  .Apply(Change{.kind = ChangeKind::kAccessToken,
                                .org_id = a_.id,
                                .id = before.jti(),
                                .expires_at = expires})
                  .ok());
  EXPECT_FALSE(Introspect(a_.token, token).active());
  // Kept past the exact expiry (1 ms after a whole second) until the next whole second.
  clock_.Advance(absl::FromUnixSeconds(before.exp() + 1) - clock_.Now() - absl::Milliseconds(1));
  app_->snapshot().Prune();
  EXPECT_EQ(app_->snapshot().sizes().revoked_tokens, 1u);
  clock_.Advance(absl::Milliseconds(1));
  app_->snapshot().Prune();
  EXPECT_EQ(app_->snapshot().sizes().revoked_tokens, 0u);
}

// Readers and the writers of the snapshot at once (the case ThreadSanitizer watches): while
// four threads introspect on both replicas, tokens are revoked one by one on the first. A token
// once seen revoked on a replica never reads active there again, and every revocation arrives.
TEST_F(SnapshotTest, IntrospectionsRunningWhileChangesApplyNeverGoBack) {
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  MakeUser(a_.token, "erin", {"read:x"});
  constexpr int kTokens = 12;
  std::vector<std::string> tokens;
  for (int i = 0; i < kTokens; ++i) tokens.push_back(Login("org-a", "erin", "password-erin"));
  ASSERT_TRUE(WaitFor([&] { return b.Introspect(a_.token, tokens.back()).active(); }));

  std::atomic<bool> done{false};
  std::atomic<int> went_back{0};
  std::vector<std::jthread> readers;
  // Stops the readers before they are joined, even when an assertion below returns early (an
  // ASSERT with joinable std::threads used to abort the whole binary instead of failing).
  struct Stop {
    std::atomic<bool>& done;
    ~Stop() { done = true; }
  } stop{done};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      std::vector<bool> seen_revoked(kTokens, false);
      while (!done.load()) {
        for (int i = 0; i < kTokens; ++i) {
          bool active = r % 2 == 0 ? Introspect(a_.token, tokens[i]).active()
                                   : b.Introspect(a_.token, tokens[i]).active();
          if (!active) seen_revoked[i] = true;
          if (active && seen_revoked[i]) went_back.fetch_add(1);
        }
      }
    });
  }
  for (const std::string& t : tokens) {
    v1::RevokeRequest req;
    req.set_token(t);
    v1::RevokeResponse resp;
    ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, req, &resp).ok());
  }
  bool all_revoked = WaitFor([&] {
                       for (const auto& t : tokens) {
                         if (b.Introspect(a_.token, t).active()) return false;
                       }
                       return true;
                     }).has_value();
  done.store(true);
  for (auto& t : readers) t.join();
  EXPECT_TRUE(all_revoked);
  EXPECT_EQ(went_back.load(), 0);
}

}  // namespace
}  // namespace tessera
