// The service logic driven from many threads at once, as gRPC's handler threads drive it, but
// without a transport in between: ThreadSanitizer sees every access of tessera's own (gRPC and
// libpq are built without TSan, so races that pass through them are out of its sight). Each test
// races handlers against each other and against the change-feed thread that applies other
// replicas' writes, and checks what the race must leave behind. Labelled `tsan`.
#include <atomic>
#include <set>
#include <thread>

#include "core/sync.h"
#include "services/credential_check.h"
#include "services/introspection_logic.h"
#include "services/revocation_logic.h"
#include "services/session_logic.h"
#include "tests/integration/replica.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

// The caller `token` authenticates as, through the logic the faces call.
absl::StatusOr<Principal> AuthenticateAs(ServerApp& app, const std::string& token,
                                         CallContext call) {
  call.authorization = "Bearer " + token;
  return app.credentials().AuthenticateCaller(call);
}

// Sets `flag` when it goes out of scope: declared after the threads that wait for the flag, so a
// failed assertion stops them before they are joined.
struct RaiseOnExit {
  std::atomic<bool>& flag;
  ~RaiseOnExit() { flag = true; }
};

template <typename Pred>
bool WaitUntil(Pred done) {
  absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class LogicConcurrencyTest : public ServerTest {
 protected:
  void Configure(Config& c) override {
    c.health_interval = absl::Milliseconds(20);  // the key-usage flush runs beside the calls
  }
  Principal Admin(ServerApp& logic) {
    auto p = AuthenticateAs(logic, a_.token, meta_);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : Principal{};
  }
  CallContext meta_{.request_id = "concurrency", .peer = "ipv4:127.0.0.1:1"};
};

TEST_F(LogicConcurrencyTest, RefreshersIntrospectorsAndARevocationShareTheSnapshot) {
  ServerApp& logic = *app_;
  MakeUser(a_.token, "erin", {"read:x"});
  std::string erin_id;
  constexpr int kThieves = 3;
  std::vector<std::string> refresh(kThieves);
  for (int t = 0; t < kThieves; ++t) {
    auto login = logic.sessions().LoginWithPassword(
        PasswordLogin{.org_slug = "org-a", .username = "erin", .password = "password-erin"}, meta_);
    ASSERT_TRUE(login.ok()) << login.status();
    refresh[t] = login->refresh_token;
    erin_id = login->account.id;
  }
  std::atomic<bool> revoked{false};
  std::atomic<int> refreshed{0}, after{0}, went_back{0};
  Mutex minted_mu;
  std::vector<std::string> minted;  // every access token the thieves got, for the introspectors
  std::vector<std::string> last_access(kThieves);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThieves; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 300; ++i) {
          bool was_revoked = revoked.load();
          auto r = logic.sessions().Refresh(refresh[t], meta_);
          if (!r.ok()) {
            if (was_revoked) return;
            continue;
          }
          refresh[t] = r->refresh_token;
          last_access[t] = r->access_token;
          {
            MutexLock lock(&minted_mu);
            minted.push_back(r->access_token);
          }
          refreshed.fetch_add(1);
          if (was_revoked) after.fetch_add(1);
        }
      });
    }
    RaiseOnExit stop{revoked};
    for (int t = 0; t < 2; ++t) {  // introspection handlers reading what the refreshers mint
      threads.emplace_back([&] {
        Principal admin = Admin(logic);
        std::set<std::string> seen_inactive;
        while (!revoked.load()) {
          std::vector<std::string> tokens;
          {
            MutexLock lock(&minted_mu);
            tokens = minted;
          }
          for (const std::string& token : tokens) {
            auto r = logic.introspection().Introspect(meta_, &admin, token, "");
            ASSERT_TRUE(r.ok()) << r.status();
            // Once a replica has shown a token inactive it never shows it active again.
            if (!r->active) seen_inactive.insert(token);
            if (r->active && seen_inactive.count(token)) went_back.fetch_add(1);
          }
        }
      });
    }
    ASSERT_TRUE(WaitUntil([&] { return refreshed.load() >= 6; }));
    Principal admin = Admin(logic);
    ASSERT_TRUE(logic.revocation().Revoke(admin, {RevokeTarget::kAccount, erin_id}, meta_).ok());
    revoked = true;
  }
  EXPECT_EQ(after.load(), 0) << "refreshes that began after the revocation succeeded";
  EXPECT_EQ(went_back.load(), 0);
  clock_.Advance(absl::Seconds(2));
  Principal admin = Admin(logic);
  for (int t = 0; t < kThieves; ++t) {
    EXPECT_FALSE(logic.sessions().Refresh(refresh[t], meta_).ok());
    if (!last_access[t].empty()) {
      EXPECT_FALSE(logic.introspection().Introspect(meta_, &admin, last_access[t], "")->active);
    }
  }
}

TEST_F(LogicConcurrencyTest, AReplicaIntrospectsWhileItsFeedAppliesRevocations) {
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  ServerApp& on_a = *app_;
  ServerApp& on_b = b.app;
  MakeUser(a_.token, "fred", {"read:x"});
  constexpr int kTokens = 24;
  std::vector<std::string> tokens;
  for (int i = 0; i < kTokens; ++i) tokens.push_back(Login("org-a", "fred", "password-fred"));
  SyncFeed(b.app.change_feed());
  // Once a replica has shown a token inactive it never shows it active again.
  std::vector<std::atomic<bool>> seen_inactive(kTokens);
  std::atomic<int> went_back{0};
  std::atomic<bool> done{false};
  {
    std::vector<std::jthread> readers;
    RaiseOnExit stop{done};
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&, t] {
        Principal admin = Admin(on_b);
        while (!done.load()) {
          for (int i = t; i < kTokens; i += 3) {
            auto r = on_b.introspection().Introspect(meta_, &admin, tokens[i], "");
            if (!r.ok()) continue;
            if (!r->active) seen_inactive[i] = true;
            if (r->active && seen_inactive[i].load()) went_back.fetch_add(1);
          }
        }
      });
    }
    Principal admin = Admin(on_a);
    for (int i = 0; i < kTokens; ++i)
      ASSERT_TRUE(on_a.revocation().Revoke(admin, {RevokeTarget::kToken, tokens[i]}, meta_).ok());
    SyncFeed(b.app.change_feed());
    done = true;
  }
  EXPECT_EQ(went_back.load(), 0);
  Principal admin = Admin(on_b);
  for (int i = 0; i < kTokens; ++i) {
    EXPECT_FALSE(on_b.introspection().Introspect(meta_, &admin, tokens[i], "")->active) << i;
  }
}

TEST_F(LogicConcurrencyTest, LoginsAndKeyUseRaceTheUsageFlush) {
  ServerApp& logic = *app_;
  for (int u = 0; u < 3; ++u) MakeUser(a_.token, "gus" + std::to_string(u), {"read:x"});
  std::atomic<int> ok{0};
  v1::CreateApiKeyResponse key;  // before the threads that read it, so it outlives them
  {
    std::vector<std::jthread> threads;
    for (int u = 0; u < 3; ++u) {
      threads.emplace_back([&, u] {
        std::string name = "gus" + std::to_string(u);
        for (int i = 0; i < 8; ++i) {
          auto r = logic.sessions().LoginWithPassword(
              PasswordLogin{.org_slug = "org-a", .username = name, .password = "password-" + name},
              meta_);
          if (r.ok()) ok.fetch_add(1);
        }
      });
    }
    // Bearer checks of one key, each noting its use, while the health loop flushes the notes.
    v1::CreateApiKeyRequest create;
    create.set_name("hot");
    create.set_kind(v1::API_KEY_KIND_USER_TOKEN);
    ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, create, &key).ok());
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          auto p = AuthenticateAs(logic, key.key(), meta_);
          ASSERT_TRUE(p.ok()) << p.status();
          clock_.Advance(absl::Milliseconds(5));
        }
      });
    }
  }
  EXPECT_EQ(ok.load(), 3 * 8);
}

}  // namespace
}  // namespace tessera
