// Tenant isolation of the token RPCs not covered next to their features (admin RPCs: server_test;
// revocation: revoke_test; keys, secrets and service-account passwords: api_key_test; the audit
// log: audit_test): a login names its org and reaches only that org's account, a refresh stays
// in its family's org, signing keys belong to the service and only a platform admin rotates
// them, and the JWKS is public and the same for every org.
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class CrossTenantTest : public ServerTest {
 protected:
  void CreateUser(const std::string& admin_token, const std::string& name,
                  const std::string& password) {
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_USER);
    req.set_username(name);
    req.set_password(password);
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(admin_token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
};

TEST_F(CrossTenantTest, CrossTenantIssueTokenReachesOnlyTheNamedOrgsAccount) {
  CreateUser(a_.token, "carol", "carol-in-a");
  CreateUser(b_.token, "carol", "carol-in-b");
  v1::IssueTokenResponse resp;
  // Org A's password does not open org B's account of the same name, nor the reverse.
  EXPECT_EQ(LoginStatus("org-b", "carol", "carol-in-a", &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(LoginStatus("org-a", "carol", "carol-in-b", &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(LoginStatus("org-b", "carol", "carol-in-b", &resp).ok());
  EXPECT_EQ(resp.account().org_id(), b_.id);
  EXPECT_EQ(Introspect(b_.token, resp.access_token()).org_id(), b_.id);
  // Narrowing to a scope org A's carol might hold cannot widen org B's.
  v1::IssueTokenRequest req;
  req.mutable_password()->set_org_slug("org-b");
  req.mutable_password()->set_username("carol");
  req.mutable_password()->set_password("carol-in-b");
  req.add_scopes("admin");
  EXPECT_EQ(Call("", &v1::TokenService::Stub::IssueToken, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CrossTenantTest, CrossTenantRefreshStaysInTheFamilysOrg) {
  v1::IssueTokenResponse login;
  ASSERT_TRUE(LoginStatus("org-b", "admin", b_.admin_password, &login).ok());
  v1::RefreshRequest req;
  req.set_refresh_token(login.refresh_token());
  v1::RefreshResponse refreshed;
  // Whoever presents it (no caller credential is involved), the family's org is kept.
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Refresh, req, &refreshed).ok());
  EXPECT_EQ(refreshed.account().org_id(), b_.id);
  EXPECT_EQ(refreshed.account().id(), b_.admin_id);
  EXPECT_FALSE(Introspect(b_.token, refreshed.access_token()).org_id().empty());
  EXPECT_EQ(Introspect(b_.token, refreshed.access_token()).org_id(), b_.id);
}

TEST_F(CrossTenantTest, CrossTenantRotateSigningKeyNeedsThePlatformAdmin) {
  v1::RotateRequest req;
  req.mutable_signing_key();
  v1::RotateResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::TokenService::Stub::Rotate, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Rotate, req, &resp).ok());
  EXPECT_FALSE(resp.kid().empty());
}

TEST_F(CrossTenantTest, CrossTenantGetJwksIsTheServicesOwnAndTheSameForEveryOrg) {
  v1::GetJwksResponse a, b;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::GetJwks, v1::GetJwksRequest(), &a).ok());
  ASSERT_TRUE(Call(b_.token, &v1::TokenService::Stub::GetJwks, v1::GetJwksRequest(), &b).ok());
  EXPECT_EQ(a.jwks_json(), b.jwks_json());
  EXPECT_GT(a.keys_size(), 0);
  EXPECT_EQ(a.jwks_json().find(a_.id), std::string::npos);
  EXPECT_EQ(a.jwks_json().find(b_.id), std::string::npos);
}

}  // namespace
}  // namespace tessera
