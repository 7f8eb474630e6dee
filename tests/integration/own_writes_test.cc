// A replica reads its own writes without the change feed: the logic applies what each store
// write committed to the replica's snapshot before it answers (AuthSnapshot::AfterCommit). The
// feed is stopped first, so nothing here can have come through the channel: a write path that
// forgot to apply its changes leaves its effect unseen and fails here.
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class OwnWritesTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    app_->change_feed().Stop();
  }
  bool Active(const std::string& token) { return Introspect(a_.token, token).active(); }
};

TEST_F(OwnWritesTest, RevocationsDisablingAndRolesShowAtOnce) {
  std::string fred = MakeUser(a_.token, "fred", {"read:x"});
  std::string token = Login("org-a", "fred", "password-fred");
  ASSERT_TRUE(Active(token));

  v1::RevokeRequest revoke;
  revoke.set_token(token);
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, revoke, &revoked).ok());
  EXPECT_FALSE(Active(token)) << "a revoked jti";

  token = Login("org-a", "fred", "password-fred");
  v1::UnassignRoleRequest unassign;
  unassign.set_account_id(fred);
  unassign.set_role("fred-role");
  v1::UnassignRoleResponse unassigned;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::UnassignRole, unassign, &unassigned).ok());
  EXPECT_TRUE(Introspect(a_.token, token).scopes().empty()) << "an unassigned role";

  v1::AssignRoleRequest assign;
  assign.set_account_id(fred);
  assign.set_role("fred-role");
  v1::AssignRoleResponse assigned;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::AssignRole, assign, &assigned).ok());
  EXPECT_EQ(Scopes(Introspect(a_.token, token)), std::set<std::string>{"read:x"})
      << "an assigned role";

  v1::RevokeRequest everywhere;
  everywhere.set_account_id(fred);
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, everywhere, &revoked).ok());
  EXPECT_FALSE(Active(token)) << "log out everywhere";

  clock_.Advance(absl::Seconds(1));  // a login in the second of the cutoff is refused
  token = Login("org-a", "fred", "password-fred");
  v1::DisableAccountRequest disable;
  disable.set_account_id(fred);
  v1::DisableAccountResponse disabled;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::DisableAccount, disable, &disabled).ok());
  EXPECT_FALSE(Active(token)) << "a disabled account";
}

TEST_F(OwnWritesTest, NewAccountsAndKeysAndTheirRevocationShowAtOnce) {
  MakeUser(a_.token, "gina", {"read:x"});
  std::string token = Login("org-a", "gina", "password-gina");
  EXPECT_TRUE(Active(token)) << "a new account";

  v1::CreateApiKeyRequest create;
  create.set_name("k");
  create.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, create, &key).ok());
  EXPECT_TRUE(Active(key.key())) << "a new API key";

  v1::RevokeRequest revoke;
  revoke.set_api_key_id(key.api_key().id());
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, revoke, &revoked).ok());
  EXPECT_FALSE(Active(key.key())) << "a revoked API key";
}

TEST_F(OwnWritesTest, AReusedRefreshTokenEndsItsFamilyAtOnce) {
  MakeUser(a_.token, "hal", {"read:x"});
  v1::IssueTokenResponse login;
  ASSERT_TRUE(LoginStatus("org-a", "hal", "password-hal", &login).ok());
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(login.refresh_token());
  v1::RefreshResponse first;
  ASSERT_TRUE(Call("", &v1::TokenService::Stub::Refresh, refresh, &first).ok());
  ASSERT_TRUE(Active(first.access_token()));
  clock_.Advance(absl::Minutes(1));  // past the grace window: presenting it again is reuse
  v1::RefreshResponse again;
  EXPECT_FALSE(Call("", &v1::TokenService::Stub::Refresh, refresh, &again).ok());
  EXPECT_FALSE(Active(first.access_token())) << "the family of a reused token";
}

}  // namespace
}  // namespace tessera
