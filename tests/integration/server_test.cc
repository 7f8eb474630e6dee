// The whole service in-process on port 0 over a real PostgreSQL, driven by real gRPC clients:
// login, introspection with live permissions, caller authentication, and CrossTenant* checks
// for every admin RPC.
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

TEST_F(ServerTest, LoginThenIntrospectShowsOrgAndScopes) {
  v1::IssueTokenResponse login;
  ASSERT_TRUE(LoginStatus("org-a", "admin", a_.admin_password, &login).ok());
  EXPECT_EQ(login.token_type(), "Bearer");
  EXPECT_EQ(login.expires_in(), 900);
  EXPECT_EQ(login.refresh_token().rfind("rt_", 0), 0u);
  EXPECT_EQ(login.account().org_slug(), "org-a");
  EXPECT_EQ(login.account().kind(), v1::ACCOUNT_KIND_SERVICE);
  auto r = Introspect(a_.token, login.access_token());
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.org_id(), a_.id);
  EXPECT_EQ(r.sub(), a_.admin_id);
  EXPECT_EQ(r.client_id(), a_.admin_id);
  EXPECT_EQ(r.username(), "admin");
  EXPECT_EQ(r.iss(), "https://tessera.test");
  EXPECT_EQ(Scopes(r), std::set<std::string>{"admin"});
  EXPECT_EQ(r.exp() - r.iat(), 900);
  // The refresh token is stored as a digest only: neither it nor its random part is in any
  // column of any table, while its family's row is there.
  EXPECT_NE(testing::QueryValue(config_.database_url, "SELECT count(*) FROM refresh_tokens"), "0");
  ASSERT_GT(login.refresh_token().size(), 3u);
  EXPECT_EQ(testing::TablesHolding(config_.database_url, login.refresh_token().substr(3)), "");
  EXPECT_EQ(testing::TablesHolding(config_.database_url, login.access_token()), "");
  EXPECT_EQ(testing::TablesHolding(config_.database_url, a_.admin_password), "");
}

TEST_F(ServerTest, UnassignRoleTakesEffectOnTheSameToken) {
  std::string id = MakeUser(a_.token, "carol", {"read:shifts", "write:shifts"});
  std::string token = Login("org-a", "carol", "password-carol");
  EXPECT_EQ(Scopes(Introspect(a_.token, token)),
            (std::set<std::string>{"read:shifts", "write:shifts"}));
  v1::UnassignRoleRequest un;
  un.set_account_id(id);
  un.set_role("carol-role");
  v1::UnassignRoleResponse un_resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::UnassignRole, un, &un_resp).ok());
  auto r = Introspect(a_.token, token);
  EXPECT_TRUE(r.active());
  EXPECT_TRUE(r.scopes().empty());
}

TEST_F(ServerTest, DisableAccountMakesItsTokensInactive) {
  std::string id = MakeUser(a_.token, "dave", {"read:x"});
  std::string token = Login("org-a", "dave", "password-dave");
  ASSERT_TRUE(Introspect(a_.token, token).active());
  v1::DisableAccountRequest req;
  req.set_account_id(id);
  v1::DisableAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::DisableAccount, req, &resp).ok());
  EXPECT_TRUE(resp.account().disabled());
  auto r = Introspect(a_.token, token);
  EXPECT_FALSE(r.active());
  EXPECT_TRUE(r.sub().empty());
  // And it cannot log in again, with the same answer as a wrong password.
  v1::IssueTokenResponse login;
  grpc::Status s = LoginStatus("org-a", "dave", "password-dave", &login);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "invalid credentials");
}

TEST_F(ServerTest, WrongPasswordAndUnknownUserLookTheSame) {
  v1::IssueTokenResponse resp;
  grpc::Status wrong = LoginStatus("org-a", "admin", "not-the-password", &resp);
  grpc::Status unknown_user = LoginStatus("org-a", "nobody", "whatever", &resp);
  grpc::Status unknown_org = LoginStatus("org-zzz", "admin", "whatever", &resp);
  for (const auto& s : {wrong, unknown_user, unknown_org}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(s.error_message(), wrong.error_message());
  }
  EXPECT_EQ(testing::QueryValue(config_.database_url,
                                "SELECT count(*) FROM audit_events WHERE action = 'auth.failed'"),
            "3");
}

TEST_F(ServerTest, ExpiredAndGarbageTokensAreInactiveNotErrors) {
  std::string token = Login("org-a", "admin", a_.admin_password);
  std::vector<std::string> inputs = {"", "garbage", "a.b.c", "rt_00", std::string(10000, 'x')};
  for (const std::string& garbage : inputs) {
    EXPECT_FALSE(Introspect(a_.token, garbage).active()) << garbage.substr(0, 10);
  }
  clock_.Advance(absl::Seconds(900 + 11));
  std::string fresh = Login("org-a", "admin", a_.admin_password);
  EXPECT_FALSE(Introspect(fresh, token).active());
  EXPECT_TRUE(Introspect(fresh, fresh).active());
}

TEST_F(ServerTest, CallersMustAuthenticateAndHoldTheScope) {
  v1::IntrospectRequest req;
  req.set_token(a_.token);
  v1::IntrospectResponse resp;
  EXPECT_EQ(Call("", &v1::TokenService::Stub::Introspect, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call("bogus", &v1::TokenService::Stub::Introspect, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  MakeUser(a_.token, "erin", {"read:x"});
  std::string erin = Login("org-a", "erin", "password-erin");
  EXPECT_EQ(Call(erin, &v1::TokenService::Stub::Introspect, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  MakeUser(a_.token, "frank", {"tokens:introspect"});
  std::string frank = Login("org-a", "frank", "password-frank");
  EXPECT_TRUE(Introspect(frank, a_.token).active());
  v1::ListAccountsRequest list;
  v1::ListAccountsResponse list_resp;
  EXPECT_EQ(Call(erin, &v1::AdminService::Stub::ListAccounts, list, &list_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ServerTest, NarrowedScopesMustBeHeld) {
  MakeUser(a_.token, "gina", {"read:x", "write:x"});
  v1::IssueTokenRequest req;
  req.mutable_password()->set_org_slug("org-a");
  req.mutable_password()->set_username("gina");
  req.mutable_password()->set_password("password-gina");
  req.add_scopes("read:x");
  v1::IssueTokenResponse resp;
  ASSERT_TRUE(Call("", &v1::TokenService::Stub::IssueToken, req, &resp).ok());
  EXPECT_EQ(Scopes(Introspect(a_.token, resp.access_token())), std::set<std::string>{"read:x"});
  req.add_scopes("admin");
  grpc::Status s = Call("", &v1::TokenService::Stub::IssueToken, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("scopes"), std::string::npos);
}

TEST_F(ServerTest, ServiceAccountGetsAGeneratedPasswordOnce) {
  v1::CreateAccountRequest req;
  req.set_kind(v1::ACCOUNT_KIND_SERVICE);
  req.set_username("billing-bot");
  req.add_roles("admin");
  v1::CreateAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, req, &resp).ok());
  EXPECT_EQ(resp.generated_password().size(), 43u);
  EXPECT_FALSE(Login("org-a", "billing-bot", resp.generated_password()).empty());
  v1::GetAccountRequest get;
  get.set_account_id(resp.account().id());
  v1::GetAccountResponse got;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::GetAccount, get, &got).ok());
  EXPECT_EQ(got.account().username(), "billing-bot");
  EXPECT_EQ(got.DebugString().find(resp.generated_password()), std::string::npos);
  EXPECT_EQ(testing::QueryValue(config_.database_url,
                                "SELECT count(*) FROM audit_events WHERE details::text LIKE '%" +
                                    resp.generated_password() + "%'"),
            "0");
}

TEST_F(ServerTest, InvalidArgumentsNameTheField) {
  v1::CreateRoleRequest role;
  role.set_name("ok");
  role.add_scopes("Not A Scope");
  v1::CreateRoleResponse resp;
  grpc::Status s = Call(a_.token, &v1::AdminService::Stub::CreateRole, role, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("scopes:", 0), 0u) << s.error_message();
  v1::GetAccountRequest get;
  get.set_account_id("'; DROP TABLE accounts; --");
  v1::GetAccountResponse got;
  s = Call(a_.token, &v1::AdminService::Stub::GetAccount, get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("account_id:", 0), 0u);
}

// --- Tenant isolation: for every admin RPC, a caller of org A cannot read or change org B. ---

TEST_F(ServerTest, CrossTenantCreateOrganizationNeedsPlatformAdmin) {
  v1::CreateOrganizationRequest req;
  req.set_slug("org-c");
  req.set_name("C");
  v1::CreateOrganizationResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::CreateOrganization, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ServerTest, CrossTenantCreateAccountLandsInCallersOrgOnly) {
  std::string id = MakeUser(a_.token, "henry", {"read:x"});
  v1::GetAccountRequest get;
  get.set_account_id(id);
  v1::GetAccountResponse got;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::GetAccount, get, &got).ok());
  EXPECT_EQ(got.account().org_id(), a_.id);
  // Org B's login for the same name fails: the account exists in A only.
  v1::IssueTokenResponse login;
  EXPECT_EQ(LoginStatus("org-b", "henry", "password-henry", &login).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A role name of org A cannot be used in org B.
  v1::CreateAccountRequest req;
  req.set_kind(v1::ACCOUNT_KIND_USER);
  req.set_username("ivan");
  req.set_password("password-ivan");
  req.add_roles("henry-role");
  v1::CreateAccountResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::CreateAccount, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, CrossTenantGetAccount) {
  v1::GetAccountRequest get;
  get.set_account_id(a_.admin_id);
  v1::GetAccountResponse got;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::GetAccount, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(got.has_account());
}

TEST_F(ServerTest, CrossTenantListAccounts) {
  MakeUser(a_.token, "judy", {"read:x"});
  v1::ListAccountsRequest req;
  v1::ListAccountsResponse resp;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::ListAccounts, req, &resp).ok());
  ASSERT_EQ(resp.accounts_size(), 1);
  EXPECT_EQ(resp.accounts(0).id(), b_.admin_id);
  for (const auto& a : resp.accounts()) EXPECT_EQ(a.org_id(), b_.id);
}

TEST_F(ServerTest, CrossTenantDisableAccount) {
  v1::DisableAccountRequest req;
  req.set_account_id(a_.admin_id);
  v1::DisableAccountResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::DisableAccount, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Introspect(a_.token, a_.token).active());
}

TEST_F(ServerTest, CrossTenantCreateRoleIsPerOrg) {
  v1::CreateRoleRequest req;
  req.set_name("ops");
  req.add_scopes("read:x");
  v1::CreateRoleResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateRole, req, &resp).ok());
  // The same name is free in org B, and B's role is a different one.
  v1::CreateRoleResponse resp_b;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::CreateRole, req, &resp_b).ok());
  EXPECT_NE(resp.role().id(), resp_b.role().id());
}

TEST_F(ServerTest, CrossTenantAssignRole) {
  std::string a_user = MakeUser(a_.token, "kate", {"read:x"});
  v1::CreateRoleRequest role;
  role.set_name("b-admin-ish");
  role.add_scopes("admin");
  v1::CreateRoleResponse role_resp;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::CreateRole, role, &role_resp).ok());
  v1::AssignRoleRequest req;
  req.set_account_id(a_user);
  req.set_role("b-admin-ish");
  v1::AssignRoleResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::AssignRole, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  std::string kate = Login("org-a", "kate", "password-kate");
  EXPECT_EQ(Scopes(Introspect(a_.token, kate)), std::set<std::string>{"read:x"});
}

TEST_F(ServerTest, CrossTenantUnassignRole) {
  std::string a_user = MakeUser(a_.token, "liam", {"read:x"});
  v1::UnassignRoleRequest req;
  req.set_account_id(a_user);
  req.set_role("liam-role");
  v1::UnassignRoleResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::AdminService::Stub::UnassignRole, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  std::string liam = Login("org-a", "liam", "password-liam");
  EXPECT_EQ(Scopes(Introspect(a_.token, liam)), std::set<std::string>{"read:x"});
}

TEST_F(ServerTest, CrossTenantIntrospectShowsAnotherOrgsTokenAsInactive) {
  // Org B learns nothing of org A's principals: not their names, scopes, or that the token lives.
  v1::IntrospectResponse r = Introspect(b_.token, a_.token);
  EXPECT_FALSE(r.active());
  EXPECT_EQ(r.ByteSizeLong(), 0u);
  EXPECT_TRUE(Introspect(b_.token, b_.token).active());
  // A platform organization's caller (a shared gateway) sees every org's tokens as they are.
  r = Introspect(a_.token, b_.token);
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.org_id(), b_.id);
}

}  // namespace
}  // namespace tessera
