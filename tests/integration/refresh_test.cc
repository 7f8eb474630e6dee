// Refresh-token rotation on a real PostgreSQL: one-time use, the grace window answering a retry
// of the immediate parent with the same child, reuse revoking the whole family, and exactly one
// child under 50 concurrent refreshes of one token.
#include <thread>

#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class RefreshTest : public ServerTest {
 protected:
  grpc::Status Refresh(const std::string& token, v1::RefreshResponse* resp) {
    v1::RefreshRequest req;
    req.set_refresh_token(token);
    return Call("", &v1::TokenService::Stub::Refresh, req, resp);
  }
  std::string RefreshOk(const std::string& token) {
    v1::RefreshResponse resp;
    grpc::Status s = Refresh(token, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.refresh_token();
  }
  void ExpectRefused(const std::string& token) {
    v1::RefreshResponse resp;
    grpc::Status s = Refresh(token, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(s.error_message(), "invalid refresh token");
    EXPECT_TRUE(resp.refresh_token().empty());
  }
  std::string LoginRefresh(const std::string& user, const std::string& password) {
    v1::IssueTokenResponse resp;
    EXPECT_TRUE(LoginStatus("org-a", user, password, &resp).ok());
    return resp.refresh_token();
  }
  int Count(const std::string& sql) {
    return std::stoi(testing::QueryValue(config_.database_url, sql));
  }
};

TEST_F(RefreshTest, RotationSpendsTheTokenAndReturnsANewPair) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  v1::RefreshResponse resp;
  ASSERT_TRUE(Refresh(r1, &resp).ok());
  EXPECT_NE(resp.refresh_token(), r1);
  EXPECT_EQ(resp.refresh_token().size(), r1.size());
  EXPECT_EQ(resp.token_type(), "Bearer");
  EXPECT_EQ(resp.expires_in(), 900);
  EXPECT_EQ(resp.account().id(), a_.admin_id);
  EXPECT_EQ(resp.account().org_slug(), "org-a");
  auto r = Introspect(a_.token, resp.access_token());
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.sub(), a_.admin_id);
  EXPECT_EQ(Scopes(r), std::set<std::string>{"admin"});
  std::string r3 = RefreshOk(resp.refresh_token());
  EXPECT_NE(r3, resp.refresh_token());
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE action = 'token.refreshed'"), 2);
}

TEST_F(RefreshTest, GraceWindowReturnsTheSameChildAgain) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  v1::RefreshResponse first, again;
  ASSERT_TRUE(Refresh(r1, &first).ok());
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(Refresh(r1, &again).ok());
  EXPECT_EQ(again.refresh_token(), first.refresh_token());
  // Not a second access token either: the same jti and issue time.
  auto a = Introspect(a_.token, first.access_token());
  auto b = Introspect(a_.token, again.access_token());
  EXPECT_EQ(a.jti(), b.jti());
  EXPECT_EQ(a.iat(), b.iat());
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE parent_id IS NOT NULL"), 1);
  // The child still works (the replay did not spend it).
  EXPECT_FALSE(RefreshOk(first.refresh_token()).empty());
}

TEST_F(RefreshTest, ReuseAfterTheWindowRevokesTheFamily) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  std::string r2 = RefreshOk(r1);
  clock_.Advance(absl::Seconds(11));
  ExpectRefused(r1);
  ExpectRefused(r2);  // the newest token of the family is dead too
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE action = 'refresh.reuse_detected'"), 1);
  const std::string family =
      "(SELECT target_id::uuid FROM audit_events WHERE action = 'refresh.reuse_detected')";
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE family_id = " + family), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL AND family_id = " +
                  family),
            0);
  // Other families (another login) are untouched.
  EXPECT_FALSE(RefreshOk(LoginRefresh("admin", a_.admin_password)).empty());
}

TEST_F(RefreshTest, OlderAncestorIsReuseEvenInsideTheWindow) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  std::string r2 = RefreshOk(r1);
  std::string r3 = RefreshOk(r2);
  ExpectRefused(r1);  // r1's child r2 is spent: r1 is not the immediate parent of the newest
  ExpectRefused(r3);
}

TEST_F(RefreshTest, FiftyConcurrentRefreshesYieldExactlyOneChild) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  constexpr int kCallers = 50;
  std::vector<std::string> children(kCallers);
  std::vector<grpc::StatusCode> codes(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      v1::RefreshResponse resp;
      codes[i] = Refresh(r1, &resp).error_code();
      children[i] = resp.refresh_token();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_EQ(codes[i], grpc::StatusCode::OK) << i;
    EXPECT_EQ(children[i], children[0]) << i;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM refresh_tokens WHERE parent_id IS NOT NULL"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE action = 'token.refreshed'"), 1);
}

TEST_F(RefreshTest, DisabledAccountCannotRefresh) {
  std::string id = MakeUser(a_.token, "mona", {"read:x"});
  std::string r1 = LoginRefresh("mona", "password-mona");
  v1::DisableAccountRequest req;
  req.set_account_id(id);
  v1::DisableAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::DisableAccount, req, &resp).ok());
  ExpectRefused(r1);
}

TEST_F(RefreshTest, NewAccessTokenCarriesTheCurrentScopes) {
  std::string id = MakeUser(a_.token, "nina", {"read:x", "write:x"});
  std::string r1 = LoginRefresh("nina", "password-nina");
  v1::UnassignRoleRequest un;
  un.set_account_id(id);
  un.set_role("nina-role");
  v1::UnassignRoleResponse un_resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::UnassignRole, un, &un_resp).ok());
  v1::RefreshResponse resp;
  ASSERT_TRUE(Refresh(r1, &resp).ok());
  EXPECT_TRUE(resp.scopes().empty());
  EXPECT_TRUE(Introspect(a_.token, resp.access_token()).scopes().empty());
}

TEST_F(RefreshTest, GarbageExpiredAndForeignTokensAreRefused) {
  ExpectRefused("");
  ExpectRefused("garbage");
  ExpectRefused("rt_" + std::string(64, '0'));
  ExpectRefused(a_.token);  // an access token is not a refresh token
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  clock_.Advance(config_.refresh_token_ttl + absl::Seconds(1));
  ExpectRefused(r1);
}

class NoGraceRefreshTest : public RefreshTest {
 protected:
  void Configure(Config& c) override { c.refresh_grace = absl::ZeroDuration(); }
};

TEST_F(NoGraceRefreshTest, ZeroGraceMakesAnyRetryReuse) {
  std::string r1 = LoginRefresh("admin", a_.admin_password);
  std::string r2 = RefreshOk(r1);
  clock_.Advance(absl::Seconds(1));
  ExpectRefused(r1);
  ExpectRefused(r2);
}

}  // namespace
}  // namespace tessera
