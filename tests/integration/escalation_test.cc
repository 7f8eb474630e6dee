// No call grants, assigns, resets or mints a credential for more authority than its caller
// holds (services/authority.h). One table: every admin and rotation call that writes, made in an
// ordinary organization by a caller holding exactly the one scope the call names, on a target
// within the caller's authority (an account or role holding that scope only) and on one beyond
// it (the organization's admin), and again by a caller lacking the scope. Where a call hands back
// a credential, that credential is used and must hold no more than the caller. Every RPC of both
// services must appear in the table or in the list of calls that only read or act on oneself, so
// a new RPC cannot be added without deciding what it may do.
#include <functional>
#include <map>

#include "google/protobuf/descriptor.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using grpc::StatusCode;

// The calls that change nothing of anyone else's: reads, one's own sessions, the JWKS.
const std::set<std::string> kNotInTheTable = {
    "tessera.v1.TokenService.IssueToken",  "tessera.v1.TokenService.Refresh",
    "tessera.v1.TokenService.Introspect",  "tessera.v1.TokenService.GetJwks",
    "tessera.v1.AdminService.GetAccount",  "tessera.v1.AdminService.ListAccounts",
    "tessera.v1.AdminService.ListApiKeys", "tessera.v1.AdminService.ListAuditEvents",
};

struct Caller {
  std::string scope;  // the one scope its role holds
  std::string token;  // its access token
  std::set<std::string> scopes() const { return {scope}; }
};

// What one call did: its code, and the scopes of any credential it returned (once used).
struct Result {
  StatusCode code = StatusCode::UNKNOWN;
  std::optional<std::set<std::string>> credential_scopes;
};

class EscalationTest : public ServerTest {
 protected:
  // A role holding `scopes`, made once by org B's admin.
  std::string Role(const std::vector<std::string>& scopes) {
    std::string name = "role";
    for (const auto& s : scopes) name += "-" + s;
    if (roles_.insert(name).second) {
      v1::CreateRoleRequest req;
      req.set_name(name);
      for (const auto& s : scopes) req.add_scopes(s);
      v1::CreateRoleResponse resp;
      grpc::Status s = Call(b_.token, &v1::AdminService::Stub::CreateRole, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return name;
  }
  // A service account of org B holding `scope`, made by org B's admin: {id, password}.
  std::pair<std::string, std::string> Peer(const std::string& scope) {
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_SERVICE);
    req.set_username("peer" + std::to_string(++serial_));
    req.add_roles(Role({scope}));
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(b_.token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.account().id(), resp.generated_password()};
  }
  std::string LoginB(const std::string& username, const std::string& password) {
    v1::IssueTokenResponse resp;
    grpc::Status s = LoginStatus("org-b", username, password, &resp);
    EXPECT_TRUE(s.ok()) << username << ": " << s.error_message();
    return resp.access_token();
  }
  Caller MakeCaller(const std::string& scope) {
    auto [id, password] = Peer(scope);
    (void)id;
    return Caller{scope, LoginB("peer" + std::to_string(serial_), password)};
  }
  // The scopes a credential grants now, seen through org B's admin.
  std::set<std::string> ScopesOf(const std::string& token, const std::string& secret = "") {
    v1::IntrospectRequest req;
    req.set_token(token);
    req.set_secret(secret);
    v1::IntrospectResponse resp;
    grpc::Status s = Call(b_.token, &v1::TokenService::Stub::Introspect, req, &resp);
    EXPECT_TRUE(s.ok() && resp.active()) << s.error_message();
    return {resp.scopes().begin(), resp.scopes().end()};
  }
  // An API key of `account_id` made by org B's admin: {id, key, secret}.
  std::tuple<std::string, std::string, std::string> KeyOf(const std::string& account_id,
                                                          v1::ApiKeyKind kind,
                                                          const std::string& scope) {
    v1::CreateApiKeyRequest req;
    req.set_account_id(account_id);
    req.set_name("k" + std::to_string(++serial_));
    req.set_kind(kind);
    if (kind == v1::API_KEY_KIND_SERVICE_TOKEN) req.add_scopes(scope);
    v1::CreateApiKeyResponse resp;
    grpc::Status s = Call(b_.token, &v1::AdminService::Stub::CreateApiKey, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.api_key().id(), resp.key(), resp.secret()};
  }
  // The target of a call on an account: one holding the caller's scope, or org B's admin.
  std::pair<std::string, std::string> Target(const Caller& c, bool within) {
    if (within) return Peer(c.scope);
    return {b_.admin_id, ""};
  }

  struct Row {
    std::string rpc;      // full method name
    std::string variant;  // which oneof case or shape
    std::string scope;    // the scope the call needs
    std::function<Result(const Caller&, bool within)> call;
  };
  std::vector<Row> Rows();

  std::set<std::string> roles_;
  int serial_ = 0;
};

template <typename Resp>
Result Code(const grpc::Status& s, const Resp&) {
  return Result{.code = s.error_code()};
}

std::vector<EscalationTest::Row> EscalationTest::Rows() {
  const std::string admin = "tessera.v1.AdminService.";
  const std::string token = "tessera.v1.TokenService.";
  return {
      {admin + "CreateAccount", "SERVICE with a role", "accounts:write",
       [&](const Caller& c, bool within) {
         v1::CreateAccountRequest req;
         req.set_kind(v1::ACCOUNT_KIND_SERVICE);
         req.set_username("made" + std::to_string(++serial_));
         req.add_roles(within ? Role({c.scope}) : "admin");
         v1::CreateAccountResponse resp;
         Result r{
             .code =
                 Call(c.token, &v1::AdminService::Stub::CreateAccount, req, &resp).error_code()};
         if (r.code == StatusCode::OK) {
           r.credential_scopes =
               ScopesOf(LoginB(resp.account().username(), resp.generated_password()));
         }
         return r;
       }},
      {admin + "DisableAccount", "", "accounts:write",
       [&](const Caller& c, bool within) {
         v1::DisableAccountRequest req;
         req.set_account_id(Target(c, within).first);
         v1::DisableAccountResponse resp;
         return Code(Call(c.token, &v1::AdminService::Stub::DisableAccount, req, &resp), resp);
       }},
      {admin + "CreateRole", "", "roles:write",
       [&](const Caller& c, bool within) {
         v1::CreateRoleRequest req;
         req.set_name("new" + std::to_string(++serial_));
         req.add_scopes(within ? c.scope : "admin");
         v1::CreateRoleResponse resp;
         return Code(Call(c.token, &v1::AdminService::Stub::CreateRole, req, &resp), resp);
       }},
      {admin + "AssignRole", "to a peer", "roles:write",
       [&](const Caller& c, bool within) {
         v1::AssignRoleRequest req;
         req.set_account_id(Target(c, true).first);
         req.set_role(within ? Role({c.scope}) : "admin");
         v1::AssignRoleResponse resp;
         return Code(Call(c.token, &v1::AdminService::Stub::AssignRole, req, &resp), resp);
       }},
      {admin + "UnassignRole", "", "roles:write",
       [&](const Caller& c, bool within) {
         auto [id, unused] = within ? Peer(c.scope) : std::pair{b_.admin_id, std::string()};
         v1::UnassignRoleRequest req;
         req.set_account_id(id);
         req.set_role(within ? Role({c.scope}) : "admin");
         v1::UnassignRoleResponse resp;
         return Code(Call(c.token, &v1::AdminService::Stub::UnassignRole, req, &resp), resp);
       }},
      {admin + "CreateApiKey", "USER_TOKEN", "api_keys:write",
       [&](const Caller& c, bool within) {
         v1::CreateApiKeyRequest req;
         req.set_account_id(Target(c, within).first);
         req.set_name("k");
         req.set_kind(v1::API_KEY_KIND_USER_TOKEN);
         v1::CreateApiKeyResponse resp;
         Result r{
             .code = Call(c.token, &v1::AdminService::Stub::CreateApiKey, req, &resp).error_code()};
         if (r.code == StatusCode::OK) r.credential_scopes = ScopesOf(resp.key());
         return r;
       }},
      {admin + "CreateApiKey", "SERVICE_TOKEN", "api_keys:write",
       [&](const Caller& c, bool within) {
         v1::CreateApiKeyRequest req;
         req.set_account_id(Target(c, within).first);
         req.set_name("k");
         req.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
         req.add_scopes(c.scope);
         v1::CreateApiKeyResponse resp;
         Result r{
             .code = Call(c.token, &v1::AdminService::Stub::CreateApiKey, req, &resp).error_code()};
         if (r.code == StatusCode::OK) r.credential_scopes = ScopesOf(resp.key(), resp.secret());
         return r;
       }},
      {admin + "CreateOrganization", "", "admin of a platform organization",
       [&](const Caller& c, bool) {
         v1::CreateOrganizationRequest req;
         req.set_slug("o" + std::to_string(++serial_));
         req.set_name("O");
         v1::CreateOrganizationResponse resp;
         return Code(Call(c.token, &v1::AdminService::Stub::CreateOrganization, req, &resp), resp);
       }},
      {token + "Rotate", "service_account_password", "accounts:write",
       [&](const Caller& c, bool within) {
         auto [id, unused] = Target(c, within);
         v1::RotateRequest req;
         req.mutable_service_account_password()->set_account_id(id);
         v1::RotateResponse resp;
         Result r{.code = Call(c.token, &v1::TokenService::Stub::Rotate, req, &resp).error_code()};
         if (r.code == StatusCode::OK) {
           v1::GetAccountRequest get;
           get.set_account_id(id);
           v1::GetAccountResponse account;
           EXPECT_TRUE(Call(b_.token, &v1::AdminService::Stub::GetAccount, get, &account).ok());
           r.credential_scopes =
               ScopesOf(LoginB(account.account().username(), resp.new_password()));
         }
         return r;
       }},
      {token + "Rotate", "service_token_secret", "api_keys:write",
       [&](const Caller& c, bool within) {
         auto [key_id, key, unused] = KeyOf(Target(c, within).first, v1::API_KEY_KIND_SERVICE_TOKEN,
                                            within ? c.scope : "admin");
         v1::RotateRequest req;
         req.mutable_service_token_secret()->set_api_key_id(key_id);
         v1::RotateResponse resp;
         Result r{.code = Call(c.token, &v1::TokenService::Stub::Rotate, req, &resp).error_code()};
         if (r.code == StatusCode::OK) r.credential_scopes = ScopesOf(key, resp.new_secret());
         return r;
       }},
      {token + "Rotate", "signing_key", "admin of a platform organization",
       [&](const Caller& c, bool) {
         v1::RotateRequest req;
         req.mutable_signing_key();
         v1::RotateResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Rotate, req, &resp), resp);
       }},
      {token + "Revoke", "account_id", "tokens:revoke",
       [&](const Caller& c, bool within) {
         v1::RevokeRequest req;
         req.set_account_id(Target(c, within).first);
         v1::RevokeResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Revoke, req, &resp), resp);
       }},
      {token + "Revoke", "api_key_id", "tokens:revoke",
       [&](const Caller& c, bool within) {
         auto [key_id, key, secret] =
             KeyOf(Target(c, within).first, v1::API_KEY_KIND_USER_TOKEN, "");
         v1::RevokeRequest req;
         req.set_api_key_id(key_id);
         v1::RevokeResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Revoke, req, &resp), resp);
       }},
      {token + "Revoke", "token: a user token", "tokens:revoke",
       [&](const Caller& c, bool within) {
         auto [key_id, key, secret] =
             KeyOf(Target(c, within).first, v1::API_KEY_KIND_USER_TOKEN, "");
         v1::RevokeRequest req;
         req.set_token(key);
         v1::RevokeResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Revoke, req, &resp), resp);
       }},
      {token + "Revoke", "token: an access token", "tokens:revoke",
       [&](const Caller& c, bool within) {
         std::string access = b_.token;
         if (within) {
           auto [id, password] = Peer(c.scope);
           access = LoginB("peer" + std::to_string(serial_), password);
         }
         v1::RevokeRequest req;
         req.set_token(access);
         v1::RevokeResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Revoke, req, &resp), resp);
       }},
      {token + "Revoke", "token: a refresh token", "tokens:revoke",
       [&](const Caller& c, bool within) {
         v1::IssueTokenResponse login;
         if (within) {
           auto [id, password] = Peer(c.scope);
           EXPECT_TRUE(
               LoginStatus("org-b", "peer" + std::to_string(serial_), password, &login).ok());
         } else {
           EXPECT_TRUE(LoginStatus("org-b", "admin", b_.admin_password, &login).ok());
         }
         v1::RevokeRequest req;
         req.set_token(login.refresh_token());
         v1::RevokeResponse resp;
         return Code(Call(c.token, &v1::TokenService::Stub::Revoke, req, &resp), resp);
       }},
  };
}

TEST_F(EscalationTest, EveryRpcIsInTheTableOrOnlyReads) {
  std::set<std::string> covered = kNotInTheTable;
  for (const Row& row : Rows()) covered.insert(row.rpc);
  for (const auto* service :
       {v1::TokenService::service_full_name(), v1::AdminService::service_full_name()}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    ASSERT_NE(d, nullptr) << service;
    for (int i = 0; i < d->method_count(); ++i) {
      EXPECT_EQ(covered.count(d->method(i)->full_name()), 1)
          << d->method(i)->full_name() << " has no row in the escalation table: decide whether "
          << "it can grant, assign, reset or mint, and add its rows";
    }
  }
}

TEST_F(EscalationTest, NoCallGrantsMoreThanItsCallerHolds) {
  Caller lacking = MakeCaller("read:x");
  std::map<std::string, Caller> callers;
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.rpc + " " + row.variant);
    bool platform_only = row.scope.rfind("admin of", 0) == 0;
    if (platform_only) {
      // Not even the admin of an ordinary organization.
      Caller b_admin{"admin", b_.token};
      EXPECT_EQ(row.call(b_admin, true).code, StatusCode::PERMISSION_DENIED);
      continue;
    }
    if (!callers.count(row.scope)) callers.emplace(row.scope, MakeCaller(row.scope));
    const Caller& holder = callers.at(row.scope);
    Result within = row.call(holder, true);
    EXPECT_EQ(within.code, StatusCode::OK) << "within the caller's authority";
    if (within.credential_scopes) {
      for (const std::string& s : *within.credential_scopes) {
        EXPECT_TRUE(holder.scopes().count(s)) << "the credential it returned holds " << s;
      }
    }
    Result beyond = row.call(holder, false);
    EXPECT_EQ(beyond.code, StatusCode::PERMISSION_DENIED) << "beyond the caller's authority";
    EXPECT_FALSE(beyond.credential_scopes.has_value());
    EXPECT_EQ(row.call(lacking, true).code, StatusCode::PERMISSION_DENIED)
        << "by a caller without " << row.scope;
  }
}

// The three findings of issue #22, each as it was reported.
TEST_F(EscalationTest, ReportedTakeoversAreRefused) {
  Caller accounts = MakeCaller("accounts:write");
  Caller roles = MakeCaller("roles:write");
  Caller keys = MakeCaller("api_keys:write");
  {
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_USER);
    req.set_username("mallory");
    req.set_password("mallory-password");
    req.add_roles("admin");
    v1::CreateAccountResponse resp;
    EXPECT_EQ(Call(accounts.token, &v1::AdminService::Stub::CreateAccount, req, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
    v1::IssueTokenResponse login;
    EXPECT_EQ(LoginStatus("org-b", "mallory", "mallory-password", &login).error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  {
    v1::RotateRequest req;
    req.mutable_service_account_password()->set_account_id(b_.admin_id);
    v1::RotateResponse resp;
    EXPECT_EQ(Call(accounts.token, &v1::TokenService::Stub::Rotate, req, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(resp.new_password().empty());
    EXPECT_FALSE(LoginB("admin", b_.admin_password).empty());  // the admin's password still works
  }
  {
    v1::IntrospectRequest who;  // the roles:write caller's own account ID
    who.set_token(roles.token);
    v1::IntrospectResponse me;
    ASSERT_TRUE(Call(b_.token, &v1::TokenService::Stub::Introspect, who, &me).ok());
    v1::AssignRoleRequest req;
    req.set_account_id(me.sub());
    req.set_role("admin");
    v1::AssignRoleResponse resp;
    EXPECT_EQ(Call(roles.token, &v1::AdminService::Stub::AssignRole, req, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
    // Its next login would hold what its account's roles hold: admin is not among them.
    v1::GetAccountRequest get;
    get.set_account_id(me.sub());
    v1::GetAccountResponse account;
    ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::GetAccount, get, &account).ok());
    EXPECT_EQ(std::vector<std::string>(account.account().roles().begin(),
                                       account.account().roles().end()),
              std::vector<std::string>{"role-roles:write"});
  }
  {
    v1::CreateApiKeyRequest req;
    req.set_account_id(b_.admin_id);
    req.set_name("takeover");
    req.set_kind(v1::API_KEY_KIND_USER_TOKEN);
    v1::CreateApiKeyResponse resp;
    EXPECT_EQ(Call(keys.token, &v1::AdminService::Stub::CreateApiKey, req, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(resp.key().empty());
  }
}

// A key made for someone else is capped at its maker's scopes then: a role its account gains
// later (from an admin) does not reach the maker.
TEST_F(EscalationTest, AUserTokenMadeForAnotherDoesNotGrowPastItsMaker) {
  Caller keys = MakeCaller("api_keys:write");
  v1::CreateAccountRequest hire;
  hire.set_kind(v1::ACCOUNT_KIND_USER);
  hire.set_username("newhire");
  hire.set_password("newhire-password");
  v1::CreateAccountResponse hired;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::CreateAccount, hire, &hired).ok());
  v1::CreateApiKeyRequest req;
  req.set_account_id(hired.account().id());
  req.set_name("for-newhire");
  req.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(Call(keys.token, &v1::AdminService::Stub::CreateApiKey, req, &key).ok());
  EXPECT_EQ(std::set<std::string>(key.api_key().scopes().begin(), key.api_key().scopes().end()),
            std::set<std::string>{"api_keys:write"});  // the cap, listed
  v1::AssignRoleRequest promote;
  promote.set_account_id(hired.account().id());
  promote.set_role("admin");
  v1::AssignRoleResponse promoted;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::AssignRole, promote, &promoted).ok());
  EXPECT_EQ(ScopesOf(key.key()), std::set<std::string>{"api_keys:write"});
  // The account's own user token, made by the account itself, follows it.
  std::string own_login = LoginB("newhire", "newhire-password");
  v1::CreateApiKeyRequest own;
  own.set_name("own");
  own.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  v1::CreateApiKeyResponse own_key;
  ASSERT_TRUE(Call(own_login, &v1::AdminService::Stub::CreateApiKey, own, &own_key).ok());
  EXPECT_EQ(ScopesOf(own_key.key()), std::set<std::string>{"admin"});
}

// A credential narrower than its account cannot mint one as wide as the account.
TEST_F(EscalationTest, ANarrowedTokenCannotMintItsAccountsFullPower) {
  v1::IssueTokenRequest req;
  req.mutable_password()->set_org_slug("org-b");
  req.mutable_password()->set_username("admin");
  req.mutable_password()->set_password(b_.admin_password);
  req.add_scopes("api_keys:write");
  v1::IssueTokenResponse narrowed;
  ASSERT_TRUE(Call("", &v1::TokenService::Stub::IssueToken, req, &narrowed).ok());
  v1::CreateApiKeyRequest key;
  key.set_name("own");
  key.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  v1::CreateApiKeyResponse resp;
  EXPECT_EQ(
      Call(narrowed.access_token(), &v1::AdminService::Stub::CreateApiKey, key, &resp).error_code(),
      StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace tessera
