// Revocation (RFC 7009 semantics) on a real PostgreSQL: access tokens by jti, refresh tokens by
// family (taking the family's access tokens with it), whole accounts, garbage succeeding, and
// who may revoke what.
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class RevokeTest : public ServerTest {
 protected:
  grpc::Status RevokeToken(const std::string& caller, const std::string& token) {
    v1::RevokeRequest req;
    req.set_token(token);
    v1::RevokeResponse resp;
    return Call(caller, &v1::TokenService::Stub::Revoke, req, &resp);
  }
  grpc::Status RevokeAccount(const std::string& caller, const std::string& account_id) {
    v1::RevokeRequest req;
    req.set_account_id(account_id);
    v1::RevokeResponse resp;
    return Call(caller, &v1::TokenService::Stub::Revoke, req, &resp);
  }
  v1::IssueTokenResponse LoginA(const std::string& user, const std::string& password) {
    v1::IssueTokenResponse resp;
    EXPECT_TRUE(LoginStatus("org-a", user, password, &resp).ok());
    return resp;
  }
  grpc::StatusCode RefreshCode(const std::string& token) {
    v1::RefreshRequest req;
    req.set_refresh_token(token);
    v1::RefreshResponse resp;
    return Call("", &v1::TokenService::Stub::Refresh, req, &resp).error_code();
  }
  int Audited(const std::string& action) {
    return std::stoi(testing::QueryValue(
        config_.database_url, "SELECT count(*) FROM audit_events WHERE action = '" + action + "'"));
  }
};

TEST_F(RevokeTest, AccessTokenGoesInactiveOthersStayActive) {
  auto one = LoginA("admin", a_.admin_password);
  auto two = LoginA("admin", a_.admin_password);
  ASSERT_TRUE(RevokeToken(a_.token, one.access_token()).ok());
  EXPECT_FALSE(Introspect(a_.token, one.access_token()).active());
  EXPECT_TRUE(Introspect(a_.token, two.access_token()).active());
  EXPECT_EQ(RefreshCode(one.refresh_token()), grpc::StatusCode::OK);  // its family lives on
  ASSERT_TRUE(RevokeToken(a_.token, one.access_token()).ok());        // again: still fine
  EXPECT_EQ(Audited("token.revoked"), 1);
  // A revoked token no longer authenticates its bearer either.
  v1::ListAccountsRequest list;
  v1::ListAccountsResponse list_resp;
  EXPECT_EQ(Call(one.access_token(), &v1::AdminService::Stub::ListAccounts, list, &list_resp)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RevokeTest, RefreshTokenRevokesItsFamilyAndItsAccessTokens) {
  auto login = LoginA("admin", a_.admin_password);
  v1::RefreshRequest req;
  req.set_refresh_token(login.refresh_token());
  v1::RefreshResponse child;
  ASSERT_TRUE(Call("", &v1::TokenService::Stub::Refresh, req, &child).ok());
  ASSERT_TRUE(RevokeToken(a_.token, login.refresh_token()).ok());
  EXPECT_EQ(RefreshCode(child.refresh_token()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(Introspect(a_.token, login.access_token()).active());
  EXPECT_FALSE(Introspect(a_.token, child.access_token()).active());
  EXPECT_EQ(Audited("token_family.revoked"), 1);
}

TEST_F(RevokeTest, RefreshReuseAlsoKillsTheFamilysAccessTokens) {
  auto login = LoginA("admin", a_.admin_password);
  v1::RefreshRequest req;
  req.set_refresh_token(login.refresh_token());
  v1::RefreshResponse child;
  ASSERT_TRUE(Call("", &v1::TokenService::Stub::Refresh, req, &child).ok());
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(RefreshCode(login.refresh_token()), grpc::StatusCode::UNAUTHENTICATED);
  std::string fresh = LoginA("admin", a_.admin_password).access_token();
  EXPECT_FALSE(Introspect(fresh, child.access_token()).active());
  EXPECT_FALSE(Introspect(fresh, login.access_token()).active());
  EXPECT_TRUE(Introspect(fresh, fresh).active());
}

TEST_F(RevokeTest, AccountRevocationLogsOutEverywhere) {
  std::string id = MakeUser(a_.token, "olga", {"read:x"});
  auto one = LoginA("olga", "password-olga");
  auto two = LoginA("olga", "password-olga");
  ASSERT_TRUE(RevokeAccount(a_.token, id).ok());
  EXPECT_FALSE(Introspect(a_.token, one.access_token()).active());
  EXPECT_FALSE(Introspect(a_.token, two.access_token()).active());
  EXPECT_EQ(RefreshCode(one.refresh_token()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(RefreshCode(two.refresh_token()), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Audited("account.sessions_revoked"), 1);
  // Logging in again afterwards works (iat has second precision: move past the cutoff second).
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Introspect(a_.token, LoginA("olga", "password-olga").access_token()).active());
}

TEST_F(RevokeTest, GarbageAndUnknownTokensSucceed) {
  for (const std::string& t : std::vector<std::string>{
           "", "garbage", "a.b.c", "rt_" + std::string(64, 'a'), std::string(9000, 'x')}) {
    EXPECT_TRUE(RevokeToken(a_.token, t).ok()) << t.substr(0, 12);
  }
  auto login = LoginA("admin", a_.admin_password);
  clock_.Advance(absl::Seconds(900 + 11));
  std::string fresh = LoginA("admin", a_.admin_password).access_token();
  EXPECT_TRUE(RevokeToken(fresh, login.access_token()).ok());  // expired: nothing to do
  EXPECT_EQ(Audited("token.revoked"), 0);
}

TEST_F(RevokeTest, OwnTokensFreelyOthersOnlyWithTheScope) {
  MakeUser(a_.token, "pia", {"read:x"});
  MakeUser(a_.token, "quinn", {"read:x"});
  auto pia = LoginA("pia", "password-pia");
  auto quinn = LoginA("quinn", "password-quinn");
  grpc::Status s = RevokeToken(pia.access_token(), quinn.access_token());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(RevokeToken(pia.access_token(), quinn.refresh_token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Introspect(a_.token, quinn.access_token()).active());
  EXPECT_TRUE(RevokeToken(pia.access_token(), pia.refresh_token()).ok());
  EXPECT_EQ(RevokeToken(a_.token, "").error_code(), grpc::StatusCode::OK);
  v1::RevokeRequest none;
  v1::RevokeResponse resp;
  EXPECT_EQ(Call(a_.token, &v1::TokenService::Stub::Revoke, none, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Call("", &v1::TokenService::Stub::Revoke, none, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RevokeTest, CrossTenantRevokeTokenIsRefused) {
  grpc::Status s = RevokeToken(b_.token, a_.token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Introspect(a_.token, a_.token).active());
  auto login = LoginA("admin", a_.admin_password);
  EXPECT_EQ(RevokeToken(b_.token, login.refresh_token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(RefreshCode(login.refresh_token()), grpc::StatusCode::OK);
}

TEST_F(RevokeTest, CrossTenantRevokeAccountIsNotFound) {
  EXPECT_EQ(RevokeAccount(b_.token, a_.admin_id).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Introspect(a_.token, a_.token).active());
}

}  // namespace
}  // namespace tessera
