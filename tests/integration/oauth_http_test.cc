// The OAuth 2.0 face on a real PostgreSQL, in-process, over cpp-httplib's client: introspection
// over HTTP answers from memory like gRPC's (the pool's transaction counter does not move), keeps
// organizations apart, and a replica reads its own writes with its change feed stopped; the HTTP
// refresh keeps gRPC's one-child rule under concurrency; and no OAuth call grants more than the
// logic allows the same caller on gRPC (a user token is no client, scopes never widen, another
// account's tokens need its scopes, another organization's are out of reach).
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "storage/pg_change_feed.h"
#include "storage/pg_pool.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using nlohmann::json;

struct Answer {
  int status = 0;
  json body;
  std::string www_authenticate;
};

class OAuthHttpTest : public ServerTest {
 protected:
  void Configure(Config& c) override {
    c.oauth_listen = "127.0.0.1:0";
    c.oauth_plaintext = true;
    c.http_threads = 64;
  }
  void SetUp() override {
    ServerTest::SetUp();
    ASSERT_GT(app_->oauth_port(), 0);
  }

  Answer Post(const std::string& path, const httplib::Params& form,
              const std::string& authorization = "") {
    httplib::Client client("127.0.0.1", app_->oauth_port());
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    auto res = client.Post(path.c_str(), headers, form);
    Answer a;
    if (!res) {
      a.body = httplib::to_string(res.error());
      return a;
    }
    a.status = res->status;
    a.body = json::parse(res->body.empty() ? "null" : res->body, nullptr, false);
    a.www_authenticate = res->get_header_value("WWW-Authenticate");
    return a;
  }
  static std::string Bearer(const std::string& token) { return "Bearer " + token; }
  json IntrospectHttp(const std::string& caller, const std::string& token) {
    Answer a = Post("/oauth2/introspect", {{"token", token}}, Bearer(caller));
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return a.body;
  }
  Answer PasswordGrant(const std::string& org, const std::string& user, const std::string& pw) {
    return Post(
        "/oauth2/token",
        {{"grant_type", "password"}, {"username", user}, {"password", pw}, {"org_slug", org}});
  }
};

TEST_F(OAuthHttpTest, HttpIntrospectMakesNoDatabaseRoundTrip) {
  MakeUser(a_.token, "alice", {"docs:read"});
  std::string bob_id = MakeUser(a_.token, "bob", {"docs:read"});
  std::string active = PasswordGrant("org-a", "alice", "password-alice").body["access_token"];
  std::string revoked = PasswordGrant("org-a", "alice", "password-alice").body["access_token"];
  std::string disabled = PasswordGrant("org-a", "bob", "password-bob").body["access_token"];
  ASSERT_EQ(Post("/oauth2/revoke", {{"token", revoked}}, Bearer(a_.token)).status, 200);
  v1::DisableAccountRequest req;
  req.set_account_id(bob_id);
  v1::DisableAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::DisableAccount, req, &resp).ok());
  WaitForFeedEchoes();

  const int64_t before = app_->pool().transactions_started();
  for (int round = 0; round < 3; ++round) {  // the first-seen and the cached path alike
    json r = IntrospectHttp(a_.token, active);
    EXPECT_EQ(r["active"], true);
    EXPECT_EQ(r["username"], "alice");
    EXPECT_EQ(r["scope"], "docs:read");
    EXPECT_EQ(r["iss"], "https://tessera.test");
    EXPECT_EQ(IntrospectHttp(a_.token, revoked), json({{"active", false}}));
    EXPECT_EQ(IntrospectHttp(a_.token, disabled), json({{"active", false}}));
    EXPECT_EQ(IntrospectHttp(a_.token, "not-a-token"), json({{"active", false}}));
  }
  EXPECT_EQ(app_->pool().transactions_started(), before);
}

TEST_F(OAuthHttpTest, AReplicaReadsItsOwnHttpWritesWithoutItsFeed) {
  std::string token = PasswordGrant("org-a", "admin", a_.admin_password).body["access_token"];
  app_->change_feed().Stop();
  ASSERT_EQ(Post("/oauth2/revoke", {{"token", token}}, Bearer(a_.token)).status, 200);
  EXPECT_EQ(IntrospectHttp(a_.token, token)["active"], false);
}

TEST_F(OAuthHttpTest, CrossTenantIntrospectionAndRevocationOverHttp) {
  std::string a_token = PasswordGrant("org-a", "admin", a_.admin_password).body["access_token"];
  // Org B's admin is no platform admin: org A's token is inactive to it, and out of its reach.
  EXPECT_EQ(IntrospectHttp(b_.token, a_token), json({{"active", false}}));
  Answer revoke = Post("/oauth2/revoke", {{"token", a_token}}, Bearer(b_.token));
  EXPECT_EQ(revoke.status, 403) << revoke.body.dump();
  EXPECT_EQ(revoke.body["error"], "unauthorized_client");
  EXPECT_EQ(IntrospectHttp(a_.token, a_token)["active"], true);
}

TEST_F(OAuthHttpTest, NoOAuthCallGrantsMoreThanItsCallerHolds) {
  auto [key, secret] = MakeServiceToken("svc", {"orders:read", "tokens:introspect"});
  std::string basic = "Basic " + absl::Base64Escape(key + ":" + secret);
  // Scopes narrow, never widen.
  Answer wide =
      Post("/oauth2/token",
           {{"grant_type", "client_credentials"}, {"scope", "orders:read orders:write"}}, basic);
  EXPECT_EQ(wide.status, 400);
  EXPECT_EQ(wide.body["error"], "invalid_scope");
  Answer narrow = Post("/oauth2/token",
                       {{"grant_type", "client_credentials"}, {"scope", "orders:read"}}, basic);
  ASSERT_EQ(narrow.status, 200) << narrow.body.dump();
  EXPECT_EQ(narrow.body["scope"], "orders:read");
  // A user's API token is no client, with or without a secret.
  v1::CreateApiKeyRequest req;
  req.set_name("mine");
  req.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  v1::CreateApiKeyResponse user_key;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, req, &user_key).ok());
  Answer as_client = Post("/oauth2/token", {{"grant_type", "client_credentials"}},
                          "Basic " + absl::Base64Escape(user_key.key() + ":"));
  EXPECT_EQ(as_client.status, 401);
  EXPECT_EQ(as_client.body["error"], "invalid_client");
  EXPECT_EQ(as_client.www_authenticate, "Basic realm=\"tessera\"");
  // Nor is an access token, even with a secret beside it.
  Answer token_as_client = Post(
      "/oauth2/introspect", {{"token", narrow.body["access_token"]}},
      "Basic " + absl::Base64Escape(narrow.body["access_token"].get<std::string>() + ":anything"));
  EXPECT_EQ(token_as_client.status, 401) << token_as_client.body.dump();
  // Credentials sent on a grant that needs none are checked, not ignored.
  Answer wrong_client = Post("/oauth2/token",
                             {{"grant_type", "password"},
                              {"username", "admin"},
                              {"password", a_.admin_password},
                              {"org_slug", "org-a"}},
                             "Basic " + absl::Base64Escape(key + ":wrong"));
  EXPECT_EQ(wrong_client.status, 401);
  EXPECT_EQ(wrong_client.body["error"], "invalid_client");
  Answer right_client = Post("/oauth2/token",
                             {{"grant_type", "password"},
                              {"username", "admin"},
                              {"password", a_.admin_password},
                              {"org_slug", "org-a"}},
                             basic);
  EXPECT_EQ(right_client.status, 200) << right_client.body.dump();
  // Two methods at once: a bearer header beside a body secret.
  Answer two =
      Post("/oauth2/introspect", {{"token", "x"}, {"client_id", key}, {"client_secret", secret}},
           Bearer("garbage"));
  EXPECT_EQ(two.status, 400);
  EXPECT_EQ(two.body["error"], "invalid_request");
  // Revoking another account's token needs tokens:revoke and every scope that account holds.
  MakeUser(a_.token, "carol", {"payroll:admin"});
  std::string carol = PasswordGrant("org-a", "carol", "password-carol").body["access_token"];
  auto [revoker, revoker_secret] = MakeServiceToken("revoker", {"tokens:revoke"});
  Answer revoke = Post("/oauth2/revoke", {{"token", carol}},
                       "Basic " + absl::Base64Escape(revoker + ":" + revoker_secret));
  EXPECT_EQ(revoke.status, 403) << revoke.body.dump();
  EXPECT_EQ(IntrospectHttp(a_.token, carol)["active"], true);
  // Introspection needs tokens:introspect.
  Answer peek = Post("/oauth2/introspect", {{"token", carol}}, Bearer(carol));
  EXPECT_EQ(peek.status, 403);
  // A refresh cannot widen the session's scopes either.
  Answer login = PasswordGrant("org-a", "carol", "password-carol");
  Answer widened = Post("/oauth2/token", {{"grant_type", "refresh_token"},
                                          {"refresh_token", login.body["refresh_token"]},
                                          {"scope", "payroll:admin admin"}});
  EXPECT_EQ(widened.status, 400);
  EXPECT_EQ(widened.body["error"], "invalid_scope");
}

TEST_F(OAuthHttpTest, ConcurrentHttpRefreshesOfOneTokenGetOneChild) {
  std::string r1 = PasswordGrant("org-a", "admin", a_.admin_password).body["refresh_token"];
  constexpr int kCallers = 32;
  std::vector<Answer> answers(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      answers[i] = Post("/oauth2/token", {{"grant_type", "refresh_token"}, {"refresh_token", r1}});
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_EQ(answers[i].status, 200) << i << answers[i].body.dump();
    EXPECT_EQ(answers[i].body["refresh_token"], answers[0].body["refresh_token"]) << i;
  }
  EXPECT_EQ(testing::QueryValue(config_.database_url,
                                "SELECT count(*) FROM refresh_tokens WHERE parent_id IS NOT NULL"),
            "1");
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// The per-address count sees HTTP callers by their address, as it sees gRPC's.
class OAuthHttpPeerThrottleTest : public OAuthHttpTest {
 protected:
  void Configure(Config& c) override {
    OAuthHttpTest::Configure(c);
    c.login_max_failures = 100;
    c.peer_max_failures = 3;
  }
};

TEST_F(OAuthHttpPeerThrottleTest, OneAddressGuessingManyNamesIsLockedOut) {
  for (const char* name : {"u1", "u2", "u3"}) {
    EXPECT_EQ(PasswordGrant("org-a", name, "wrong").status, 400) << name;
  }
  Answer locked = PasswordGrant("org-a", "admin", a_.admin_password);
  EXPECT_EQ(locked.status, 429) << locked.body.dump();
  EXPECT_EQ(locked.body["error"], "temporarily_unavailable");
  EXPECT_EQ(testing::QueryValue(config_.database_url,
                                "SELECT target_type || ' ' || target_id FROM audit_events"
                                " WHERE action = 'auth.lockout'"),
            "peer ipv4:127.0.0.1");
}

}  // namespace
}  // namespace tessera
