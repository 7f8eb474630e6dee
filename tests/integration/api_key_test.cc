// User API tokens, service tokens and rotation on a real PostgreSQL: formats and shown-once,
// inherited vs explicit scopes, secrets and their overlap window (driven by the fake clock),
// revocation and expiry, the api_key and service_token grants, service-account passwords, the
// signing-key lifecycle, and tenant isolation (CrossTenant*).
#include <regex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "core/secret_digest.h"
#include "services/auth_snapshot.h"
#include "storage/pg_pool.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class ApiKeyTest : public ServerTest {
 protected:
  void Configure(Config& c) override { c.signing_key_publish_delay = absl::Seconds(300); }

  grpc::Status CreateKey(const std::string& caller, v1::ApiKeyKind kind,
                         std::vector<std::string> scopes, v1::CreateApiKeyResponse* out,
                         const std::string& account_id = "", int64_t ttl = 0) {
    v1::CreateApiKeyRequest req;
    req.set_account_id(account_id);
    req.set_name("ci");
    req.set_kind(kind);
    for (const auto& s : scopes) req.add_scopes(s);
    req.set_ttl_seconds(ttl);
    return Call(caller, &v1::AdminService::Stub::CreateApiKey, req, out);
  }
  v1::CreateApiKeyResponse MustCreate(const std::string& caller, v1::ApiKeyKind kind,
                                      std::vector<std::string> scopes,
                                      const std::string& account_id = "", int64_t ttl = 0) {
    v1::CreateApiKeyResponse out;
    grpc::Status s = CreateKey(caller, kind, std::move(scopes), &out, account_id, ttl);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  v1::IntrospectResponse IntrospectKey(const std::string& key, const std::string& secret = "") {
    v1::IntrospectRequest req;
    req.set_token(key);
    req.set_secret(secret);
    v1::IntrospectResponse resp;
    grpc::Status s = Call(a_.token, &v1::TokenService::Stub::Introspect, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  grpc::Status Exchange(const v1::CreateApiKeyResponse& key, const std::string& secret,
                        v1::IssueTokenResponse* out, std::vector<std::string> scopes = {}) {
    v1::IssueTokenRequest req;
    if (key.api_key().kind() == v1::API_KEY_KIND_SERVICE_TOKEN) {
      req.mutable_service_token()->set_token(key.key());
      req.mutable_service_token()->set_secret(secret);
    } else {
      req.mutable_api_key()->set_key(key.key());
    }
    for (const auto& s : scopes) req.add_scopes(s);
    return Call("", &v1::TokenService::Stub::IssueToken, req, out);
  }
  grpc::Status RotateSecret(const std::string& caller, const std::string& key_id, int64_t overlap,
                            v1::RotateResponse* out) {
    v1::RotateRequest req;
    req.mutable_service_token_secret()->set_api_key_id(key_id);
    req.mutable_service_token_secret()->set_overlap_seconds(overlap);
    return Call(caller, &v1::TokenService::Stub::Rotate, req, out);
  }
  grpc::Status RevokeKeyId(const std::string& caller, const std::string& id) {
    v1::RevokeRequest req;
    req.set_api_key_id(id);
    v1::RevokeResponse resp;
    return Call(caller, &v1::TokenService::Stub::Revoke, req, &resp);
  }
  grpc::Status ListKeys(const std::string& caller, const std::string& account_id,
                        v1::ListApiKeysResponse* out) {
    v1::ListApiKeysRequest req;
    req.set_account_id(account_id);
    return Call(caller, &v1::AdminService::Stub::ListApiKeys, req, out);
  }
  std::string Sql(const std::string& sql) { return testing::QueryValue(config_.database_url, sql); }
  // Advances the fake clock and logs org A's admin in again (its token may have expired).
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    a_.token = Login("org-a", "admin", a_.admin_password);
  }
  static std::string KidOf(const std::string& jwt) {
    std::vector<std::string> parts = absl::StrSplit(jwt, '.');
    std::string header;
    absl::WebSafeBase64Unescape(parts[0], &header);
    std::smatch m;
    std::regex_search(header, m, std::regex(R"re("kid":"([^"]+)")re"));
    return m.size() > 1 ? m[1].str() : "";
  }
  std::set<std::string> JwksKids() {
    v1::GetJwksRequest req;
    v1::GetJwksResponse resp;
    EXPECT_TRUE(Call(a_.token, &v1::TokenService::Stub::GetJwks, req, &resp).ok());
    std::set<std::string> kids;
    for (const auto& k : resp.keys()) kids.insert(k.kid());
    return kids;
  }
};

TEST_F(ApiKeyTest, UserTokenIsShownOnceStoredAsDigestAndInheritsCurrentPermissions) {
  std::string alice_id = MakeUser(a_.token, "alice", {"docs:read"});
  std::string alice = Login("org-a", "alice", "password-alice");
  auto created = MustCreate(alice, v1::API_KEY_KIND_USER_TOKEN, {});
  EXPECT_TRUE(std::regex_match(created.key(), std::regex("tsr_[0-9a-f]{64}"))) << created.key();
  EXPECT_TRUE(created.secret().empty());
  EXPECT_EQ(created.api_key().prefix(), created.key().substr(0, 12));
  EXPECT_EQ(created.api_key().account_id(), alice_id);
  EXPECT_EQ(created.api_key().scopes_size(), 0);  // inherits

  // Stored only as the peppered digest: no column holds the key.
  std::string digest = SecretDigester(config_.pepper).Digest(created.key());
  EXPECT_EQ(Sql("SELECT count(*) FROM api_keys WHERE digest = '" + digest + "'"), "1");
  EXPECT_EQ(Sql("SELECT count(*) FROM api_keys WHERE row_to_json(api_keys)::text LIKE '%" +
                created.key().substr(4) + "%'"),
            "0");
  // A second read cannot get it: listings carry neither key nor digest.
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(ListKeys(alice, alice_id, &list).ok());
  ASSERT_EQ(list.api_keys_size(), 1);
  EXPECT_EQ(list.api_keys(0).id(), created.api_key().id());
  std::string listed = list.SerializeAsString();
  EXPECT_EQ(listed.find(created.key().substr(4)), std::string::npos);
  EXPECT_EQ(listed.find(digest), std::string::npos);

  v1::IntrospectResponse r = IntrospectKey(created.key());
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.sub(), alice_id);
  EXPECT_EQ(r.org_id(), a_.id);
  EXPECT_EQ(r.client_id(), created.api_key().id());
  EXPECT_EQ(r.token_type(), "api_key");
  EXPECT_EQ(Scopes(r), std::set<std::string>{"docs:read"});
  // The user's permissions as they are now.
  v1::CreateRoleRequest role;
  role.set_name("writer");
  role.add_scopes("docs:write");
  v1::CreateRoleResponse role_resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateRole, role, &role_resp).ok());
  v1::AssignRoleRequest assign;
  assign.set_account_id(alice_id);
  assign.set_role("writer");
  v1::AssignRoleResponse assign_resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::AssignRole, assign, &assign_resp).ok());
  EXPECT_EQ(Scopes(IntrospectKey(created.key())),
            (std::set<std::string>{"docs:read", "docs:write"}));
  // Usable directly as a bearer credential.
  v1::ListApiKeysResponse by_key;
  grpc::Status own = ListKeys(created.key(), alice_id, &by_key);
  EXPECT_TRUE(own.ok()) << own.error_message();
  EXPECT_EQ(by_key.api_keys_size(), 1);
  // A user token takes no scopes of its own.
  v1::CreateApiKeyResponse bad;
  EXPECT_EQ(CreateKey(alice, v1::API_KEY_KIND_USER_TOKEN, {"docs:read"}, &bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ApiKeyTest, ServiceTokenNeedsItsSecretAndHoldsOnlyExplicitHeldScopes) {
  auto [svc_id, svc_password] = MakeServiceAccount("billing", {"invoices:read", "invoices:write"});
  auto created = MustCreate(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"invoices:read"}, svc_id);
  EXPECT_TRUE(std::regex_match(created.key(), std::regex("tss_[0-9a-f]{64}")));
  EXPECT_TRUE(std::regex_match(created.secret(), std::regex("[0-9a-f]{64}")));
  EXPECT_FALSE(IntrospectKey(created.key()).active());
  EXPECT_FALSE(IntrospectKey(created.key(), std::string(64, 'a')).active());
  v1::IntrospectResponse r = IntrospectKey(created.key(), created.secret());
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.token_type(), "service_token");
  EXPECT_EQ(Scopes(r), std::set<std::string>{"invoices:read"});
  // A secret never reaches the database in the clear either.
  EXPECT_EQ(Sql("SELECT count(*) FROM api_keys WHERE row_to_json(api_keys)::text LIKE '%" +
                created.secret() + "%'"),
            "0");

  v1::CreateApiKeyResponse refused;
  grpc::Status s =
      CreateKey(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"payroll:read"}, &refused, svc_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("scopes"), std::string::npos);
  EXPECT_EQ(CreateKey(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"Not A Scope"}, &refused, svc_id)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // None given means admin, which billing does not hold; the org admin does, and it is listed.
  EXPECT_EQ(CreateKey(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {}, &refused, svc_id).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto admin_key = MustCreate(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {});
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(ListKeys(a_.token, a_.admin_id, &list).ok());
  ASSERT_EQ(list.api_keys_size(), 1);
  EXPECT_EQ(
      std::vector<std::string>(list.api_keys(0).scopes().begin(), list.api_keys(0).scopes().end()),
      std::vector<std::string>{"admin"});
  // Losing the role takes the scope from the token at once.
  v1::UnassignRoleRequest un;
  un.set_account_id(svc_id);
  un.set_role("billing-role");
  v1::UnassignRoleResponse un_resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::UnassignRole, un, &un_resp).ok());
  v1::IntrospectResponse after = IntrospectKey(created.key(), created.secret());
  EXPECT_TRUE(after.active());
  EXPECT_TRUE(Scopes(after).empty());
}

TEST_F(ApiKeyTest, GrantsExchangeKeysForShortLivedTokensThatDieWithTheKey) {
  auto [svc_id, unused] = MakeServiceAccount("reports", {"reports:read", "reports:write"});
  auto svc = MustCreate(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"reports:read", "reports:write"},
                        svc_id);
  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Exchange(svc, svc.secret(), &issued, {"reports:read"}).ok());
  EXPECT_TRUE(issued.refresh_token().empty());
  EXPECT_EQ(issued.account().id(), svc_id);
  EXPECT_EQ(issued.account().org_slug(), "org-a");
  v1::IntrospectResponse r = Introspect(a_.token, issued.access_token());
  EXPECT_TRUE(r.active());
  EXPECT_EQ(r.client_id(), svc.api_key().id());
  EXPECT_EQ(Scopes(r), std::set<std::string>{"reports:read"});

  v1::IssueTokenResponse refused;
  EXPECT_EQ(Exchange(svc, "", &refused).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Exchange(svc, svc.secret(), &refused, {"payroll:read"}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A service token offered as an api_key grant (no secret) is refused.
  v1::IssueTokenRequest wrong;
  wrong.mutable_api_key()->set_key(svc.key());
  EXPECT_EQ(Call("", &v1::TokenService::Stub::IssueToken, wrong, &refused).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  MakeUser(a_.token, "bob", {"docs:read"});
  auto user_key =
      MustCreate(Login("org-a", "bob", "password-bob"), v1::API_KEY_KIND_USER_TOKEN, {});
  v1::IssueTokenResponse bob_issued;
  ASSERT_TRUE(Exchange(user_key, "", &bob_issued).ok());
  EXPECT_EQ(Scopes(Introspect(a_.token, bob_issued.access_token())),
            std::set<std::string>{"docs:read"});

  // Revoking the key ends the tokens minted from it.
  ASSERT_TRUE(RevokeKeyId(a_.token, svc.api_key().id()).ok());
  EXPECT_FALSE(IntrospectKey(svc.key(), svc.secret()).active());
  EXPECT_FALSE(Introspect(a_.token, issued.access_token()).active());
  EXPECT_EQ(Exchange(svc, svc.secret(), &refused).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Introspect(a_.token, bob_issued.access_token()).active());
}

TEST_F(ApiKeyTest, RevocationExpiryAndDisableMakeKeysInactive) {
  std::string carol_id = MakeUser(a_.token, "carol", {"docs:read"});
  std::string carol = Login("org-a", "carol", "password-carol");
  auto by_id = MustCreate(carol, v1::API_KEY_KIND_USER_TOKEN, {});
  auto by_value = MustCreate(carol, v1::API_KEY_KIND_USER_TOKEN, {});
  auto expiring = MustCreate(carol, v1::API_KEY_KIND_USER_TOKEN, {}, "", 60);
  auto kept = MustCreate(carol, v1::API_KEY_KIND_USER_TOKEN, {});
  EXPECT_TRUE(expiring.api_key().has_expires_at());

  ASSERT_TRUE(RevokeKeyId(carol, by_id.api_key().id()).ok());  // one's own: no scope needed
  ASSERT_TRUE(RevokeKeyId(carol, by_id.api_key().id()).ok());  // again: fine
  v1::RevokeRequest req;
  req.set_token(by_value.key());
  v1::RevokeResponse resp;
  ASSERT_TRUE(Call(carol, &v1::TokenService::Stub::Revoke, req, &resp).ok());
  req.set_token("tsr_" + std::string(64, '0'));  // unknown: RFC 7009 says succeed
  ASSERT_TRUE(Call(carol, &v1::TokenService::Stub::Revoke, req, &resp).ok());
  EXPECT_FALSE(IntrospectKey(by_id.key()).active());
  EXPECT_FALSE(IntrospectKey(by_value.key()).active());
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE action = 'api_key.revoked'"), "2");
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(ListKeys(carol, carol_id, &list).ok());
  int revoked = 0;
  for (const auto& k : list.api_keys()) revoked += k.revoked();
  EXPECT_EQ(revoked, 2);

  EXPECT_TRUE(IntrospectKey(expiring.key()).active());
  Advance(absl::Seconds(61));
  EXPECT_FALSE(IntrospectKey(expiring.key()).active());
  EXPECT_TRUE(IntrospectKey(kept.key()).active());

  v1::DisableAccountRequest disable;
  disable.set_account_id(carol_id);
  v1::DisableAccountResponse disabled;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::DisableAccount, disable, &disabled).ok());
  EXPECT_FALSE(IntrospectKey(kept.key()).active());
}

TEST_F(ApiKeyTest, RotatedSecretOverlapsThenTheOldOneStops) {
  auto [svc_id, unused] = MakeServiceAccount("sync", {"sync:run"});
  auto svc = MustCreate(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"sync:run"}, svc_id);
  v1::RotateResponse rotated;
  ASSERT_TRUE(RotateSecret(a_.token, svc.api_key().id(), 60, &rotated).ok());
  ASSERT_TRUE(std::regex_match(rotated.new_secret(), std::regex("[0-9a-f]{64}")));
  EXPECT_EQ(rotated.previous_valid_until(), absl::ToUnixSeconds(clock_.Now()) + 60);
  EXPECT_TRUE(IntrospectKey(svc.key(), rotated.new_secret()).active());
  EXPECT_TRUE(IntrospectKey(svc.key(), svc.secret()).active());  // the overlap
  Advance(absl::Seconds(59));
  EXPECT_TRUE(IntrospectKey(svc.key(), svc.secret()).active());
  Advance(absl::Seconds(2));
  EXPECT_FALSE(IntrospectKey(svc.key(), svc.secret()).active());
  EXPECT_TRUE(IntrospectKey(svc.key(), rotated.new_secret()).active());

  v1::RotateResponse at_once;
  ASSERT_TRUE(RotateSecret(a_.token, svc.api_key().id(), 0, &at_once).ok());
  EXPECT_FALSE(IntrospectKey(svc.key(), rotated.new_secret()).active());
  EXPECT_TRUE(IntrospectKey(svc.key(), at_once.new_secret()).active());
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE action = 'api_key.secret_rotated'"), "2");
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE details::text LIKE '%" +
                at_once.new_secret() + "%'"),
            "0");
  // A user token has no secret to rotate.
  auto user_key = MustCreate(a_.token, v1::API_KEY_KIND_USER_TOKEN, {});
  EXPECT_EQ(RotateSecret(a_.token, user_key.api_key().id(), 0, &at_once).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ApiKeyTest, ServiceAccountPasswordRotationStopsTheOldPasswordAndItsSessions) {
  auto [svc_id, old_password] = MakeServiceAccount("cron", {"jobs:run"});
  v1::IssueTokenResponse session;
  ASSERT_TRUE(LoginStatus("org-a", "cron", old_password, &session).ok());
  v1::RotateRequest req;
  req.mutable_service_account_password()->set_account_id(svc_id);
  v1::RotateResponse rotated;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Rotate, req, &rotated).ok());
  EXPECT_FALSE(rotated.new_password().empty());
  EXPECT_EQ(rotated.previous_valid_until(), 0);
  v1::IssueTokenResponse out;
  EXPECT_EQ(LoginStatus("org-a", "cron", old_password, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(LoginStatus("org-a", "cron", rotated.new_password(), &out).ok());
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(session.refresh_token());
  v1::RefreshResponse refreshed;
  EXPECT_EQ(Call("", &v1::TokenService::Stub::Refresh, refresh, &refreshed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(Introspect(a_.token, session.access_token()).active());
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE action = 'account.password_rotated'"
                " AND details::text NOT LIKE '%" +
                rotated.new_password() + "%'"),
            "1");
  // People choose their own passwords.
  req.mutable_service_account_password()->set_account_id(MakeUser(a_.token, "dora", {"x:y"}));
  EXPECT_EQ(Call(a_.token, &v1::TokenService::Stub::Rotate, req, &rotated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ApiKeyTest, SigningKeyIsPublishedBeforeItSignsAndRetiredAfterTheLongestToken) {
  std::set<std::string> before = JwksKids();
  ASSERT_EQ(before.size(), 1u);
  const std::string old_kid = *before.begin();
  std::string old_token = Login("org-a", "admin", a_.admin_password);

  v1::RotateRequest req;
  req.mutable_signing_key();
  v1::RotateResponse rotated;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Rotate, req, &rotated).ok());
  const std::string new_kid = rotated.kid();
  EXPECT_NE(new_kid, old_kid);
  // Published at once, but not signing yet.
  EXPECT_EQ(JwksKids(), (std::set<std::string>{old_kid, new_kid}));
  EXPECT_EQ(KidOf(Login("org-a", "admin", a_.admin_password)), old_kid);

  Advance(absl::Seconds(301));  // past the publish delay
  EXPECT_EQ(KidOf(a_.token), new_kid);
  EXPECT_TRUE(Introspect(a_.token, old_token).active());  // old tokens still verify
  EXPECT_EQ(JwksKids(), (std::set<std::string>{old_kid, new_kid}));

  // The last token the old key signed expires access_token_ttl after it stopped signing.
  Advance(config_.access_token_ttl + absl::Seconds(11));
  EXPECT_EQ(JwksKids(), std::set<std::string>{new_kid});
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE action = 'signing_key.rotated'"), "1");
  // Only a platform organization's admin may rotate the service's keys.
  b_.token = Login("org-b", "admin", b_.admin_password);
  EXPECT_EQ(Call(b_.token, &v1::TokenService::Stub::Rotate, req, &rotated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// The background flush runs on the health interval; here it never comes, so what the calls
// leave behind is all there is until shutdown flushes.
class ApiKeyUsageTest : public ApiKeyTest {
 protected:
  void Configure(Config& c) override {
    ApiKeyTest::Configure(c);
    c.health_interval = absl::Hours(1);
  }
};

TEST_F(ApiKeyUsageTest, LastUsedIsRecordedOffTheRequestPath) {
  auto key = MustCreate(a_.token, v1::API_KEY_KIND_USER_TOKEN, {});
  const std::string id = key.api_key().id();
  const std::string last_used =
      "SELECT coalesce(tessera_us(last_used_at)::text, 'never') FROM api_keys WHERE id = '" + id +
      "'";
  WaitForFeedEchoes();
  const int64_t before = app_->pool().transactions_started();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(IntrospectKey(key.key()).active());
  // Neither a write nor a read of PostgreSQL on the request path, and nothing written yet.
  EXPECT_EQ(app_->pool().transactions_started(), before);
  EXPECT_EQ(Sql(last_used), "never");
  app_->Shutdown(absl::Seconds(1));  // flushes what the calls noted
  EXPECT_EQ(Sql(last_used), std::to_string(absl::ToUnixMicros(clock_.Now())));
}

TEST_F(ApiKeyTest, CrossTenantAdminCannotSeeRevokeOrRotateAnotherOrgsKeys) {
  auto [svc_id, svc_password] = MakeServiceAccount("ledger", {"ledger:read"});
  auto svc = MustCreate(a_.token, v1::API_KEY_KIND_SERVICE_TOKEN, {"ledger:read"}, svc_id);
  v1::ListApiKeysResponse list;
  EXPECT_EQ(ListKeys(b_.token, svc_id, &list).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(ListKeys(b_.token, "", &list).ok());
  EXPECT_EQ(list.api_keys_size(), 0);
  EXPECT_EQ(RevokeKeyId(b_.token, svc.api_key().id()).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::RevokeRequest by_value;
  by_value.set_token(svc.key());
  v1::RevokeResponse resp;
  EXPECT_EQ(Call(b_.token, &v1::TokenService::Stub::Revoke, by_value, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RotateResponse rotated;
  EXPECT_EQ(RotateSecret(b_.token, svc.api_key().id(), 0, &rotated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RotateRequest password;
  password.mutable_service_account_password()->set_account_id(svc_id);
  EXPECT_EQ(Call(b_.token, &v1::TokenService::Stub::Rotate, password, &rotated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::CreateApiKeyResponse created;
  EXPECT_EQ(CreateKey(b_.token, v1::API_KEY_KIND_USER_TOKEN, {}, &created, svc_id).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Nothing changed for org A.
  EXPECT_TRUE(IntrospectKey(svc.key(), svc.secret()).active());
  EXPECT_EQ(Sql("SELECT count(*) FROM audit_events WHERE org_id = '" + b_.id +
                "' AND action LIKE 'api_key.%'"),
            "0");
}

TEST_F(ApiKeyTest, CrossTenantKeyIsInactiveToAnotherOrgAndActsInItsOwn) {
  auto key = MustCreate(a_.token, v1::API_KEY_KIND_USER_TOKEN, {});
  v1::IntrospectRequest req;
  req.set_token(key.key());
  v1::IntrospectResponse resp;
  ASSERT_TRUE(Call(b_.token, &v1::TokenService::Stub::Introspect, req, &resp).ok());
  EXPECT_FALSE(resp.active());
  EXPECT_TRUE(IntrospectKey(key.key()).active());
  EXPECT_EQ(IntrospectKey(key.key()).org_id(), a_.id);
  // Used as a bearer credential it acts in org A only.
  v1::ListAccountsRequest list;
  v1::ListAccountsResponse accounts;
  ASSERT_TRUE(Call(key.key(), &v1::AdminService::Stub::ListAccounts, list, &accounts).ok());
  ASSERT_GT(accounts.accounts_size(), 0);
  for (const auto& a : accounts.accounts()) EXPECT_EQ(a.org_id(), a_.id);
}

TEST_F(ApiKeyTest, AFloodOfRandomKeysCostsNoQueryAndNoMemory) {
  auto real = MustCreate(a_.token, v1::API_KEY_KIND_USER_TOKEN, {});
  WaitForFeedEchoes();
  const size_t keys_before = app_->snapshot().sizes().api_keys;
  const int64_t tx_before = app_->pool().transactions_started();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_FALSE(IntrospectKey("tsr_" + RandomHex(32)).active());
  }
  EXPECT_EQ(app_->pool().transactions_started(), tx_before);
  EXPECT_EQ(app_->snapshot().sizes().api_keys, keys_before);
  EXPECT_TRUE(IntrospectKey(real.key()).active());
}

}  // namespace
}  // namespace tessera
