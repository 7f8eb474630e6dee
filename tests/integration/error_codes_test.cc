// The error codes the README promises, for every RPC that can answer them: UNAUTHENTICATED
// without (or with a bad) credential, ALREADY_EXISTS for each Create that can collide,
// UNAVAILABLE while the database cannot be reached (Introspect and GetJwks answer from memory
// instead), and INTERNAL carrying the request ID of the call, without the detail, when the
// database fails in a way that is not the caller's. Each test walks every RPC of both services
// (from their descriptors), so a new RPC without an entry fails here too.
#include <regex>

#include "google/protobuf/descriptor.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using grpc::StatusCode;

// One representative, well-formed call per RPC (variants by oneof case for Revoke and Rotate).
struct Rpc {
  std::string name;  // full method name
  std::function<grpc::Status(grpc::ClientContext*)> call;
};

class ErrorCodesTest : public ServerTest {
 protected:
  // Well-formed calls by `token` (platform admin by default, so no scope stands in the way).
  std::vector<Rpc> Calls(const std::string& token) {
    auto with = [token](grpc::ClientContext* ctx) {
      if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    };
    const std::string tok = "tessera.v1.TokenService.";
    const std::string adm = "tessera.v1.AdminService.";
    auto T = tokens_.get();
    auto A = admin_.get();
    const std::string admin_id = a_.admin_id;
    const std::string password = a_.admin_password;
    return {
        {tok + "IssueToken",
         [=](grpc::ClientContext* ctx) {
           v1::IssueTokenRequest r;
           r.mutable_password()->set_org_slug("org-a");
           r.mutable_password()->set_username("admin");
           r.mutable_password()->set_password(password);
           v1::IssueTokenResponse out;
           return T->IssueToken(ctx, r, &out);
         }},
        {tok + "Refresh",
         [=](grpc::ClientContext* ctx) {
           v1::RefreshRequest r;
           r.set_refresh_token("rt_" + std::string(64, 'a'));
           v1::RefreshResponse out;
           return T->Refresh(ctx, r, &out);
         }},
        {tok + "Introspect",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::IntrospectRequest r;
           r.set_token(token);
           v1::IntrospectResponse out;
           return T->Introspect(ctx, r, &out);
         }},
        {tok + "Revoke",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::RevokeRequest r;
           r.set_account_id(admin_id);
           v1::RevokeResponse out;
           return T->Revoke(ctx, r, &out);
         }},
        {tok + "Rotate",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::RotateRequest r;
           r.mutable_service_account_password()->set_account_id(admin_id);
           v1::RotateResponse out;
           return T->Rotate(ctx, r, &out);
         }},
        {tok + "GetJwks",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::GetJwksRequest r;
           v1::GetJwksResponse out;
           return T->GetJwks(ctx, r, &out);
         }},
        {adm + "CreateOrganization",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::CreateOrganizationRequest r;
           r.set_slug("org-c");
           r.set_name("Org C");
           v1::CreateOrganizationResponse out;
           return A->CreateOrganization(ctx, r, &out);
         }},
        {adm + "CreateAccount",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::CreateAccountRequest r;
           r.set_kind(v1::ACCOUNT_KIND_USER);
           r.set_username("zoe");
           r.set_password("zoe-password");
           v1::CreateAccountResponse out;
           return A->CreateAccount(ctx, r, &out);
         }},
        {adm + "GetAccount",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::GetAccountRequest r;
           r.set_account_id(admin_id);
           v1::GetAccountResponse out;
           return A->GetAccount(ctx, r, &out);
         }},
        {adm + "ListAccounts",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::ListAccountsRequest r;
           v1::ListAccountsResponse out;
           return A->ListAccounts(ctx, r, &out);
         }},
        {adm + "DisableAccount",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::DisableAccountRequest r;
           r.set_account_id(admin_id);
           v1::DisableAccountResponse out;
           return A->DisableAccount(ctx, r, &out);
         }},
        {adm + "CreateRole",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::CreateRoleRequest r;
           r.set_name("readers");
           r.add_scopes("read:x");
           v1::CreateRoleResponse out;
           return A->CreateRole(ctx, r, &out);
         }},
        {adm + "AssignRole",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::AssignRoleRequest r;
           r.set_account_id(admin_id);
           r.set_role("admin");
           v1::AssignRoleResponse out;
           return A->AssignRole(ctx, r, &out);
         }},
        {adm + "UnassignRole",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::UnassignRoleRequest r;
           r.set_account_id(admin_id);
           r.set_role("admin");
           v1::UnassignRoleResponse out;
           return A->UnassignRole(ctx, r, &out);
         }},
        {adm + "CreateApiKey",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::CreateApiKeyRequest r;
           r.set_name("k");
           r.set_kind(v1::API_KEY_KIND_USER_TOKEN);
           v1::CreateApiKeyResponse out;
           return A->CreateApiKey(ctx, r, &out);
         }},
        {adm + "ListApiKeys",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::ListApiKeysRequest r;
           v1::ListApiKeysResponse out;
           return A->ListApiKeys(ctx, r, &out);
         }},
        {adm + "ListAuditEvents",
         [=](grpc::ClientContext* ctx) {
           with(ctx);
           v1::ListAuditEventsRequest r;
           v1::ListAuditEventsResponse out;
           return A->ListAuditEvents(ctx, r, &out);
         }},
    };
  }

  // Every method of both services, by full name.
  static std::vector<std::string> AllMethods() {
    std::vector<std::string> out;
    for (const auto* name :
         {v1::TokenService::service_full_name(), v1::AdminService::service_full_name()}) {
      const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
      for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
        out.push_back(d->method(i)->full_name());
      }
    }
    return out;
  }

  // Runs `expect(rpc name, status, context)` for every call, checking first that every method
  // has one.
  void ForEveryRpc(const std::vector<Rpc>& calls,
                   const std::function<void(const std::string&, const grpc::Status&,
                                            grpc::ClientContext&)>& expect) {
    std::set<std::string> named;
    for (const Rpc& r : calls) named.insert(r.name);
    for (const std::string& m : AllMethods()) EXPECT_EQ(named.count(m), 1u) << m << " has no call";
    for (const Rpc& r : calls) {
      SCOPED_TRACE(r.name);
      grpc::ClientContext ctx;
      grpc::Status s = r.call(&ctx);
      expect(r.name, s, ctx);
    }
  }

  std::string ServerUrl() const {
    const std::string& url = config_.database_url;
    return url.substr(0, url.rfind('/') + 1) + "postgres";
  }
  std::string Database() const {
    return config_.database_url.substr(config_.database_url.rfind('/') + 1);
  }
};

// The methods that answer from this replica's memory, never from PostgreSQL.
bool FromMemory(const std::string& rpc) {
  return rpc == "tessera.v1.TokenService.Introspect" || rpc == "tessera.v1.TokenService.GetJwks";
}

TEST_F(ErrorCodesTest, UnauthenticatedWithoutOrWithABadCredential) {
  for (const std::string& bearer : {std::string(), std::string("not-a-token"), a_.token + "x"}) {
    SCOPED_TRACE("bearer \"" + bearer.substr(0, 12) + "\"");
    std::vector<Rpc> calls = Calls(bearer);
    ForEveryRpc(calls, [&](const std::string& rpc, const grpc::Status& s, grpc::ClientContext&) {
      if (rpc == "tessera.v1.TokenService.IssueToken") return;  // its password is right
      EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
    });
  }
  v1::IssueTokenResponse resp;
  EXPECT_EQ(LoginStatus("org-a", "admin", "wrong-password", &resp).error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(ErrorCodesTest, AlreadyExistsForEveryCreateThatCanCollide) {
  const std::set<std::string> colliding = {"tessera.v1.AdminService.CreateOrganization",
                                           "tessera.v1.AdminService.CreateAccount",
                                           "tessera.v1.AdminService.CreateRole"};
  std::vector<Rpc> calls = Calls(a_.token);
  for (const Rpc& r : calls) {
    if (!colliding.count(r.name)) continue;
    SCOPED_TRACE(r.name);
    grpc::ClientContext first, second;
    ASSERT_TRUE(r.call(&first).ok());
    grpc::Status again = r.call(&second);
    EXPECT_EQ(again.error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_NE(again.error_message().find(": "), std::string::npos)
        << "names the field: " << again.error_message();
  }
}

TEST_F(ErrorCodesTest, UnavailableWhileTheDatabaseIsUnreachableButIntrospectionAnswers) {
  // Cut this test's database off: no new connections, and the open ones ended.
  testing::QueryValue(ServerUrl(), "ALTER DATABASE " + Database() + " ALLOW_CONNECTIONS false");
  testing::QueryValue(ServerUrl(),
                      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                      " WHERE datname = '" +
                          Database() + "'");
  std::vector<Rpc> calls = Calls(a_.token);
  ForEveryRpc(calls, [&](const std::string& rpc, const grpc::Status& s, grpc::ClientContext&) {
    if (FromMemory(rpc)) {
      EXPECT_TRUE(s.ok()) << s.error_message();
      return;
    }
    // Refresh of an unknown token and the others all need PostgreSQL; the answer says retry.
    EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_NE(s.error_message().find("retry"), std::string::npos) << s.error_message();
  });
  testing::QueryValue(ServerUrl(), "ALTER DATABASE " + Database() + " ALLOW_CONNECTIONS true");
}

TEST_F(ErrorCodesTest, InternalCarriesTheRequestIdAndNoDetail) {
  // A database that fails in a way no caller caused: the tables the calls need renamed away.
  const std::vector<std::string> tables = {"accounts",       "audit_events",  "api_keys",
                                           "refresh_tokens", "organizations", "roles"};
  for (const std::string& t : tables) {
    testing::QueryValue(config_.database_url, "ALTER TABLE " + t + " RENAME TO gone_" + t);
  }
  std::vector<Rpc> calls = Calls(a_.token);
  ForEveryRpc(calls, [&](const std::string& rpc, const grpc::Status& s, grpc::ClientContext& ctx) {
    if (FromMemory(rpc)) {
      EXPECT_TRUE(s.ok()) << s.error_message();
      return;
    }
    EXPECT_EQ(s.error_code(), StatusCode::INTERNAL) << s.error_message();
    auto id = ctx.GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(id, ctx.GetServerInitialMetadata().end());
    std::string request_id(id->second.data(), id->second.size());
    EXPECT_EQ(s.error_message(), "internal error (request id " + request_id + ")");
    EXPECT_EQ(s.error_message().find("gone_"), std::string::npos);  // no SQL detail
  });
  for (const std::string& t : tables) {
    testing::QueryValue(config_.database_url, "ALTER TABLE gone_" + t + " RENAME TO " + t);
  }
}

// One malformed request per RPC: INVALID_ARGUMENT, the message naming the field first. Refresh
// and Introspect have none by design: every refused refresh token is UNAUTHENTICATED, and a bad
// token to introspect is an inactive one; GetJwks takes no input.
TEST_F(ErrorCodesTest, InvalidArgumentNamesTheField) {
  const std::string tok = "tessera.v1.TokenService.";
  const std::string adm = "tessera.v1.AdminService.";
  auto T = tokens_.get();
  auto A = admin_.get();
  const std::string bearer = a_.token;
  auto with = [&](grpc::ClientContext* ctx) {
    ctx->AddMetadata("authorization", "Bearer " + bearer);
  };
  struct Bad {
    std::string rpc, field;
    std::function<grpc::Status(grpc::ClientContext*)> call;
  };
  std::vector<Bad> bad = {
      {tok + "IssueToken", "grant",
       [&](grpc::ClientContext* c) {
         v1::IssueTokenRequest r;
         v1::IssueTokenResponse o;
         return T->IssueToken(c, r, &o);
       }},
      {tok + "Revoke", "target",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::RevokeRequest r;
         v1::RevokeResponse o;
         return T->Revoke(c, r, &o);
       }},
      {tok + "Rotate", "target",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::RotateRequest r;
         v1::RotateResponse o;
         return T->Rotate(c, r, &o);
       }},
      {adm + "CreateOrganization", "slug",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::CreateOrganizationRequest r;
         r.set_slug("Not A Slug");
         r.set_name("x");
         v1::CreateOrganizationResponse o;
         return A->CreateOrganization(c, r, &o);
       }},
      {adm + "CreateAccount", "username",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::CreateAccountRequest r;
         r.set_kind(v1::ACCOUNT_KIND_USER);
         r.set_password("long-enough-password");
         v1::CreateAccountResponse o;
         return A->CreateAccount(c, r, &o);
       }},
      {adm + "GetAccount", "account_id",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::GetAccountRequest r;
         r.set_account_id("not-an-id");
         v1::GetAccountResponse o;
         return A->GetAccount(c, r, &o);
       }},
      {adm + "ListAccounts", "page_size",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::ListAccountsRequest r;
         r.set_page_size(-1);
         v1::ListAccountsResponse o;
         return A->ListAccounts(c, r, &o);
       }},
      {adm + "DisableAccount", "account_id",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::DisableAccountRequest r;
         r.set_account_id("not-an-id");
         v1::DisableAccountResponse o;
         return A->DisableAccount(c, r, &o);
       }},
      {adm + "CreateRole", "name",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::CreateRoleRequest r;
         r.add_scopes("read:x");
         v1::CreateRoleResponse o;
         return A->CreateRole(c, r, &o);
       }},
      {adm + "AssignRole", "role",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::AssignRoleRequest r;
         r.set_account_id(a_.admin_id);
         r.set_role("Not A Role!");
         v1::AssignRoleResponse o;
         return A->AssignRole(c, r, &o);
       }},
      {adm + "UnassignRole", "role",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::UnassignRoleRequest r;
         r.set_account_id(a_.admin_id);
         r.set_role("Not A Role!");
         v1::UnassignRoleResponse o;
         return A->UnassignRole(c, r, &o);
       }},
      {adm + "CreateApiKey", "name",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::CreateApiKeyRequest r;
         r.set_kind(v1::API_KEY_KIND_USER_TOKEN);
         v1::CreateApiKeyResponse o;
         return A->CreateApiKey(c, r, &o);
       }},
      {adm + "ListApiKeys", "account_id",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::ListApiKeysRequest r;
         r.set_account_id("not-an-id");
         v1::ListApiKeysResponse o;
         return A->ListApiKeys(c, r, &o);
       }},
      {adm + "ListAuditEvents", "page_size",
       [&](grpc::ClientContext* c) {
         with(c);
         v1::ListAuditEventsRequest r;
         r.set_page_size(-1);
         v1::ListAuditEventsResponse o;
         return A->ListAuditEvents(c, r, &o);
       }},
  };
  const std::set<std::string> none_by_design = {tok + "Refresh", tok + "Introspect",
                                                tok + "GetJwks"};
  std::set<std::string> named(none_by_design);
  for (const Bad& b : bad) named.insert(b.rpc);
  for (const std::string& m : AllMethods()) EXPECT_EQ(named.count(m), 1u) << m << " has no case";
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.rpc);
    grpc::ClientContext ctx;
    grpc::Status s = b.call(&ctx);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(s.error_message().rfind(b.field + ": ", 0), 0u) << s.error_message();
  }
}

// A well-formed ID that names nothing in the caller's organization: NOT_FOUND, for every RPC
// that takes one (Revoke of an unknown *token* succeeds instead, as RFC 7009 says).
TEST_F(ErrorCodesTest, NotFoundForAWellFormedUnknownId) {
  const std::string unknown = "00000000-0000-4000-8000-00000000abcd";
  auto code = [&](auto method, const auto& req, auto* resp) {
    return Call(a_.token, method, req, resp).error_code();
  };
  {
    v1::GetAccountRequest r;
    r.set_account_id(unknown);
    v1::GetAccountResponse o;
    EXPECT_EQ(code(&v1::AdminService::Stub::GetAccount, r, &o), StatusCode::NOT_FOUND);
  }
  {
    v1::DisableAccountRequest r;
    r.set_account_id(unknown);
    v1::DisableAccountResponse o;
    EXPECT_EQ(code(&v1::AdminService::Stub::DisableAccount, r, &o), StatusCode::NOT_FOUND);
  }
  for (const std::string& role : {std::string("admin"), std::string("no-such-role")}) {
    v1::AssignRoleRequest r;
    r.set_account_id(role == "admin" ? unknown : a_.admin_id);
    r.set_role(role);
    v1::AssignRoleResponse o;
    EXPECT_EQ(code(&v1::AdminService::Stub::AssignRole, r, &o), StatusCode::NOT_FOUND) << role;
    v1::UnassignRoleRequest u;
    u.set_account_id(r.account_id());
    u.set_role(role);
    v1::UnassignRoleResponse uo;
    EXPECT_EQ(code(&v1::AdminService::Stub::UnassignRole, u, &uo), StatusCode::NOT_FOUND) << role;
  }
  {
    v1::CreateApiKeyRequest r;
    r.set_account_id(unknown);
    r.set_name("k");
    r.set_kind(v1::API_KEY_KIND_USER_TOKEN);
    v1::CreateApiKeyResponse o;
    EXPECT_EQ(code(&v1::AdminService::Stub::CreateApiKey, r, &o), StatusCode::NOT_FOUND);
  }
  {
    v1::ListApiKeysRequest r;
    r.set_account_id(unknown);
    v1::ListApiKeysResponse o;
    EXPECT_EQ(code(&v1::AdminService::Stub::ListApiKeys, r, &o), StatusCode::NOT_FOUND);
  }
  {
    v1::RevokeRequest r;
    r.set_account_id(unknown);
    v1::RevokeResponse o;
    EXPECT_EQ(code(&v1::TokenService::Stub::Revoke, r, &o), StatusCode::NOT_FOUND);
    r.set_api_key_id(unknown);
    EXPECT_EQ(code(&v1::TokenService::Stub::Revoke, r, &o), StatusCode::NOT_FOUND);
    r.set_token("rt_" + std::string(64, '0'));  // an unknown token: RFC 7009 says succeed
    EXPECT_EQ(code(&v1::TokenService::Stub::Revoke, r, &o), StatusCode::OK);
  }
  {
    v1::RotateRequest r;
    r.mutable_service_account_password()->set_account_id(unknown);
    v1::RotateResponse o;
    EXPECT_EQ(code(&v1::TokenService::Stub::Rotate, r, &o), StatusCode::NOT_FOUND);
    r.mutable_service_token_secret()->set_api_key_id(unknown);
    EXPECT_EQ(code(&v1::TokenService::Stub::Rotate, r, &o), StatusCode::NOT_FOUND);
  }
}

// A login that loses to a "log out everywhere" in the same second gets no session: ABORTED, and
// a retry in the next second works (README, "Revocation").
TEST_F(ErrorCodesTest, ALoginInTheSecondOfALogOutEverywhereIsAbortedAndRetried) {
  std::string id = MakeUser(a_.token, "quinn", {"read:x"});
  v1::RevokeRequest revoke;
  revoke.set_account_id(id);
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Revoke, revoke, &revoked).ok());
  v1::IssueTokenResponse login;
  grpc::Status s = LoginStatus("org-a", "quinn", "password-quinn", &login);
  EXPECT_EQ(s.error_code(), StatusCode::ABORTED) << s.error_message();
  EXPECT_TRUE(login.refresh_token().empty());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(LoginStatus("org-a", "quinn", "password-quinn", &login).ok());
  EXPECT_TRUE(Introspect(a_.token, login.access_token()).active());
}

}  // namespace
}  // namespace tessera
