// The authorization matrix: every RPC of both services, called in an ordinary organization by a
// caller holding exactly one scope (each scope the README lists, or none, or admin), on each kind
// of target — the caller's own account, another account within its reach, an account holding
// more (admin), and an account or role of another organization — against the code the policy
// (README "Authorization", services/authority.h) says. Where a call hands back a credential,
// the credential is used and must hold no more than the caller. An RPC without rows fails the
// coverage test, so a new RPC cannot skip the decision.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "google/protobuf/descriptor.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using grpc::StatusCode;
using ScopeNames = std::set<std::string>;

// A cell that cannot be: the target cannot hold the credential the call acts on (a service
// token needs scopes its account holds, and an account holding nothing holds none).
constexpr auto kNotApplicable = static_cast<StatusCode>(-1);

const std::vector<std::string> kCallerScopes = {
    "accounts:read", "accounts:write",    "roles:write", "api_keys:read", "api_keys:write",
    "tokens:revoke", "tokens:introspect", "audit:read",  "none",          "admin"};

enum class Target { kOwn, kAnother, kMore, kOtherOrg };
const Target kTargets[] = {Target::kOwn, Target::kAnother, Target::kMore, Target::kOtherOrg};
const char* Name(Target t) {
  switch (t) {
    case Target::kOwn:
      return "own";
    case Target::kAnother:
      return "another";
    case Target::kMore:
      return "more";
    case Target::kOtherOrg:
      return "other-org";
  }
  return "?";
}

// An account of org B: what is needed to act on it or as it.
struct Who {
  std::string scope;  // the one scope its role holds ("none": no role)
  std::string id, username, password, token;
};

// What a call did.
struct Outcome {
  StatusCode code = StatusCode::UNKNOWN;
  std::optional<ScopeNames> credential;  // the scopes of a credential it returned, once used
};

class AuthorizationMatrixTest : public ServerTest {
 protected:
  std::string RoleOf(const std::string& scope) {
    if (scope == "admin") return "admin";
    std::string name = "only-" + scope;
    if (roles_.insert(name).second) {
      v1::CreateRoleRequest req;
      req.set_name(name);
      req.add_scopes(scope);
      v1::CreateRoleResponse resp;
      EXPECT_TRUE(Call(b_.token, &v1::AdminService::Stub::CreateRole, req, &resp).ok());
    }
    return name;
  }
  // A fresh account of org B holding `scope` (a service account; "none": a user with no role),
  // logged in.
  Who Account(const std::string& scope) {
    Who w{.scope = scope, .username = "u" + std::to_string(++serial_)};
    v1::CreateAccountRequest req;
    req.set_username(w.username);
    if (scope == "none") {
      req.set_kind(v1::ACCOUNT_KIND_USER);
      req.set_password(w.password = "password-" + w.username);
    } else {
      req.set_kind(v1::ACCOUNT_KIND_SERVICE);
      req.add_roles(RoleOf(scope));
    }
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(b_.token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    w.id = resp.account().id();
    if (w.password.empty()) w.password = resp.generated_password();
    v1::IssueTokenResponse login;
    EXPECT_TRUE(LoginStatus("org-b", w.username, w.password, &login).ok());
    w.token = login.access_token();
    return w;
  }
  // The account a call acts on, for `caller`.
  Who TargetFor(const Who& caller, Target t) {
    switch (t) {
      case Target::kOwn:
        return caller;
      case Target::kAnother:
        return Account(caller.scope);  // holds what the caller holds: within its reach
      case Target::kMore:
        return Account("admin");
      case Target::kOtherOrg: {
        Who a{.scope = "admin", .id = a_.admin_id, .username = "admin"};
        a.password = a_.admin_password;
        a.token = a_.token;
        return a;
      }
    }
    return caller;
  }
  ScopeNames ScopesOf(const std::string& token, const std::string& secret = "") {
    v1::IntrospectRequest req;
    req.set_token(token);
    req.set_secret(secret);
    v1::IntrospectResponse resp;
    EXPECT_TRUE(Call(b_.token, &v1::TokenService::Stub::Introspect, req, &resp).ok());
    EXPECT_TRUE(resp.active());
    return {resp.scopes().begin(), resp.scopes().end()};
  }
  // The role a call grants or takes: the target's own (another organization's does not exist
  // in this one).
  std::string RoleToGrant(const Who& t, Target kind) {
    if (kind == Target::kOtherOrg) return "a-only";
    return RoleOf(t.scope == "none" ? "x:y" : t.scope);
  }
  // A key of `t`'s account, made by its organization's admin: {id, key, secret}.
  struct Key {
    std::string id, key, secret;
  };
  Key KeyOf(const Who& t, Target kind, v1::ApiKeyKind key_kind) {
    v1::CreateApiKeyRequest req;
    req.set_account_id(t.id);
    req.set_name("k" + std::to_string(++serial_));
    req.set_kind(key_kind);
    if (key_kind == v1::API_KEY_KIND_SERVICE_TOKEN) req.add_scopes(t.scope);
    v1::CreateApiKeyResponse resp;
    grpc::Status s = Call(kind == Target::kOtherOrg ? a_.token : b_.token,
                          &v1::AdminService::Stub::CreateApiKey, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.api_key().id(), resp.key(), resp.secret()};
  }
  std::string RefreshTokenOf(const Who& t, Target kind) {
    v1::IssueTokenResponse login;
    EXPECT_TRUE(
        LoginStatus(kind == Target::kOtherOrg ? "org-a" : "org-b", t.username, t.password, &login)
            .ok());
    return login.refresh_token();
  }
  template <typename Method, typename Req, typename Resp>
  Outcome Do(const Who& caller, Method method, const Req& req, Resp* resp) {
    return Outcome{.code = Call(caller.token, method, req, resp).error_code()};
  }

  struct Row {
    std::string rpc;      // full method name
    std::string variant;  // which shape of the call
    // Makes the call as `caller` on `target`.
    std::function<Outcome(const Who& caller, const Who& target, Target kind)> call;
    // What the policy says it answers.
    std::function<StatusCode(const std::string& scope, Target kind)> expected;
  };
  std::vector<Row> Rows();

  std::set<std::string> roles_;
  int serial_ = 0;
};

bool Holds(const std::string& scope, const std::string& wanted) {
  return scope == "admin" || scope == wanted;
}
// The caller's authority reaches the target: itself and accounts holding what it holds do;
// an admin only for an admin.
bool Reaches(const std::string& scope, Target t) { return t != Target::kMore || scope == "admin"; }
// A scoped call on an account: the scope first, then the organization, then the authority.
StatusCode OnAccount(const std::string& scope, Target t, const std::string& needs) {
  if (!Holds(scope, needs)) return StatusCode::PERMISSION_DENIED;
  if (t == Target::kOtherOrg) return StatusCode::NOT_FOUND;
  return Reaches(scope, t) ? StatusCode::OK : StatusCode::PERMISSION_DENIED;
}
// Like OnAccount, but one's own account needs no scope.
StatusCode OnAccountOrOwn(const std::string& scope, Target t, const std::string& needs) {
  if (t == Target::kOwn) return StatusCode::OK;
  return OnAccount(scope, t, needs);
}
// Assigning or unassigning the target's own role: roles:write, then the role must be the org's,
// then held by the caller.
StatusCode OnRoleOfAccount(const std::string& scope, Target t) {
  if (!Holds(scope, "roles:write")) return StatusCode::PERMISSION_DENIED;
  if (t == Target::kOtherOrg) return StatusCode::NOT_FOUND;
  return Reaches(scope, t) ? StatusCode::OK : StatusCode::PERMISSION_DENIED;
}
StatusCode Needs(const std::string& scope, const std::string& needs) {
  return Holds(scope, needs) ? StatusCode::OK : StatusCode::PERMISSION_DENIED;
}

std::vector<AuthorizationMatrixTest::Row> AuthorizationMatrixTest::Rows() {
  const std::string tok = "tessera.v1.TokenService.";
  const std::string adm = "tessera.v1.AdminService.";
  using TS = v1::TokenService::Stub;
  using AS = v1::AdminService::Stub;
  return {
      {tok + "IssueToken", "password, narrowed to admin",
       [&](const Who& c, const Who&, Target) {
         v1::IssueTokenRequest req;
         req.mutable_password()->set_org_slug("org-b");
         req.mutable_password()->set_username(c.username);
         req.mutable_password()->set_password(c.password);
         req.add_scopes("admin");
         v1::IssueTokenResponse resp;
         Outcome o{.code = Call("", &TS::IssueToken, req, &resp).error_code()};
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.access_token());
         return o;
       },
       [](const std::string& s, Target) {
         return s == "admin" ? StatusCode::OK : StatusCode::INVALID_ARGUMENT;
       }},
      {tok + "Refresh", "own session",
       [&](const Who& c, const Who&, Target) {
         v1::IssueTokenResponse login;
         EXPECT_TRUE(LoginStatus("org-b", c.username, c.password, &login).ok());
         v1::RefreshRequest req;
         req.set_refresh_token(login.refresh_token());
         v1::RefreshResponse resp;
         Outcome o{.code = Call("", &TS::Refresh, req, &resp).error_code()};
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.access_token());
         return o;
       },
       [](const std::string&, Target) { return StatusCode::OK; }},
      {tok + "Introspect", "the target's token",
       [&](const Who& c, const Who& t, Target kind) {
         v1::IntrospectRequest req;
         req.set_token(t.token);
         v1::IntrospectResponse resp;
         Outcome o = Do(c, &TS::Introspect, req, &resp);
         // Another organization's token is inactive to this caller, not an error.
         if (o.code == StatusCode::OK && resp.active() == (kind == Target::kOtherOrg)) {
           o.code = StatusCode::DATA_LOSS;  // flags a wrong answer
         }
         return o;
       },
       [](const std::string& s, Target) { return Needs(s, "tokens:introspect"); }},
      {tok + "Revoke", "account_id",
       [&](const Who& c, const Who& t, Target) {
         v1::RevokeRequest req;
         req.set_account_id(t.id);
         v1::RevokeResponse resp;
         return Do(c, &TS::Revoke, req, &resp);
       },
       [](const std::string& s, Target t) { return OnAccountOrOwn(s, t, "tokens:revoke"); }},
      {tok + "Revoke", "token: the target's access token",
       [&](const Who& c, const Who& t, Target) {
         v1::RevokeRequest req;
         req.set_token(t.token);
         v1::RevokeResponse resp;
         return Do(c, &TS::Revoke, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (t == Target::kOwn) return StatusCode::OK;
         if (t == Target::kOtherOrg) return StatusCode::PERMISSION_DENIED;  // not its tenant's
         return Holds(s, "tokens:revoke") && Reaches(s, t) ? StatusCode::OK
                                                           : StatusCode::PERMISSION_DENIED;
       }},
      {tok + "Rotate", "service_account_password",
       [&](const Who& c, const Who& t, Target) {
         v1::RotateRequest req;
         req.mutable_service_account_password()->set_account_id(t.id);
         v1::RotateResponse resp;
         Outcome o = Do(c, &TS::Rotate, req, &resp);
         if (o.code == StatusCode::OK) {
           v1::IssueTokenResponse login;
           EXPECT_TRUE(LoginStatus("org-b", t.username, resp.new_password(), &login).ok());
           o.credential = ScopesOf(login.access_token());
         }
         return o;
       },
       [](const std::string& s, Target t) { return OnAccount(s, t, "accounts:write"); }},
      {tok + "Rotate", "signing_key",
       [&](const Who& c, const Who&, Target) {
         v1::RotateRequest req;
         req.mutable_signing_key();
         v1::RotateResponse resp;
         return Do(c, &TS::Rotate, req, &resp);
       },
       [](const std::string&, Target) { return StatusCode::PERMISSION_DENIED; }},
      {tok + "IssueToken", "api_key: its own user token, narrowed to admin",
       [&](const Who& c, const Who&, Target) {
         v1::CreateApiKeyRequest create;
         create.set_name("own");
         create.set_kind(v1::API_KEY_KIND_USER_TOKEN);
         v1::CreateApiKeyResponse key;
         EXPECT_TRUE(Call(c.token, &AS::CreateApiKey, create, &key).ok());
         v1::IssueTokenRequest req;
         req.mutable_api_key()->set_key(key.key());
         req.add_scopes("admin");
         v1::IssueTokenResponse resp;
         Outcome o{.code = Call("", &TS::IssueToken, req, &resp).error_code()};
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.access_token());
         return o;
       },
       [](const std::string& s, Target) {
         return s == "admin" ? StatusCode::OK : StatusCode::INVALID_ARGUMENT;
       }},
      {tok + "IssueToken", "service_token: its own, narrowed to admin",
       [&](const Who& c, const Who&, Target) {
         v1::CreateApiKeyRequest create;
         create.set_name("own");
         create.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
         create.add_scopes(c.scope);
         v1::CreateApiKeyResponse key;
         EXPECT_TRUE(Call(c.token, &AS::CreateApiKey, create, &key).ok());
         v1::IssueTokenRequest req;
         req.mutable_service_token()->set_token(key.key());
         req.mutable_service_token()->set_secret(key.secret());
         req.add_scopes("admin");
         v1::IssueTokenResponse resp;
         Outcome o{.code = Call("", &TS::IssueToken, req, &resp).error_code()};
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.access_token());
         return o;
       },
       [](const std::string& s, Target) {
         if (s == "none") return kNotApplicable;
         return s == "admin" ? StatusCode::OK : StatusCode::INVALID_ARGUMENT;
       }},
      {tok + "Revoke", "api_key_id: the target's user token",
       [&](const Who& c, const Who& t, Target k) {
         v1::RevokeRequest req;
         req.set_api_key_id(KeyOf(t, k, v1::API_KEY_KIND_USER_TOKEN).id);
         v1::RevokeResponse resp;
         return Do(c, &TS::Revoke, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (t == Target::kOtherOrg) return StatusCode::NOT_FOUND;  // looked up in its own org
         if (t == Target::kOwn) return StatusCode::OK;
         return Holds(s, "tokens:revoke") && Reaches(s, t) ? StatusCode::OK
                                                           : StatusCode::PERMISSION_DENIED;
       }},
      {tok + "Revoke", "token: the target's user token",
       [&](const Who& c, const Who& t, Target k) {
         v1::RevokeRequest req;
         req.set_token(KeyOf(t, k, v1::API_KEY_KIND_USER_TOKEN).key);
         v1::RevokeResponse resp;
         return Do(c, &TS::Revoke, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (t == Target::kOwn) return StatusCode::OK;
         if (t == Target::kOtherOrg) return StatusCode::PERMISSION_DENIED;
         return Holds(s, "tokens:revoke") && Reaches(s, t) ? StatusCode::OK
                                                           : StatusCode::PERMISSION_DENIED;
       }},
      {tok + "Revoke", "token: the target's refresh token",
       [&](const Who& c, const Who& t, Target k) {
         v1::RevokeRequest req;
         req.set_token(RefreshTokenOf(t, k));
         v1::RevokeResponse resp;
         return Do(c, &TS::Revoke, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (t == Target::kOwn) return StatusCode::OK;
         if (t == Target::kOtherOrg) return StatusCode::PERMISSION_DENIED;
         return Holds(s, "tokens:revoke") && Reaches(s, t) ? StatusCode::OK
                                                           : StatusCode::PERMISSION_DENIED;
       }},
      {tok + "Rotate", "service_token_secret: the target's service token",
       [&](const Who& c, const Who& t, Target k) {
         if (t.scope == "none") return Outcome{.code = kNotApplicable};
         Key key = KeyOf(t, k, v1::API_KEY_KIND_SERVICE_TOKEN);
         v1::RotateRequest req;
         req.mutable_service_token_secret()->set_api_key_id(key.id);
         v1::RotateResponse resp;
         Outcome o = Do(c, &TS::Rotate, req, &resp);
         if (o.code == StatusCode::OK) o.credential = ScopesOf(key.key, resp.new_secret());
         return o;
       },
       [](const std::string& s, Target t) {
         if (s == "none" && t != Target::kMore && t != Target::kOtherOrg) return kNotApplicable;
         if (t == Target::kOtherOrg) return StatusCode::NOT_FOUND;  // looked up in its own org
         if (t == Target::kOwn) return StatusCode::OK;
         return Holds(s, "api_keys:write") && Reaches(s, t) ? StatusCode::OK
                                                            : StatusCode::PERMISSION_DENIED;
       }},
      {tok + "GetJwks", "",
       [&](const Who& c, const Who&, Target) {
         v1::GetJwksRequest req;
         v1::GetJwksResponse resp;
         return Do(c, &TS::GetJwks, req, &resp);
       },
       [](const std::string&, Target) { return StatusCode::OK; }},
      {adm + "CreateOrganization", "",
       [&](const Who& c, const Who&, Target) {
         v1::CreateOrganizationRequest req;
         req.set_slug("o" + std::to_string(++serial_));
         req.set_name("O");
         v1::CreateOrganizationResponse resp;
         return Do(c, &AS::CreateOrganization, req, &resp);
       },
       [](const std::string&, Target) { return StatusCode::PERMISSION_DENIED; }},
      {adm + "CreateAccount", "with the target's role",
       [&](const Who& c, const Who& t, Target k) {
         v1::CreateAccountRequest req;
         req.set_kind(v1::ACCOUNT_KIND_SERVICE);
         req.set_username("made" + std::to_string(++serial_));
         // Another organization's role is not a role of this one.
         req.add_roles(RoleToGrant(t, k));
         v1::CreateAccountResponse resp;
         Outcome o = Do(c, &AS::CreateAccount, req, &resp);
         if (o.code == StatusCode::OK) {
           v1::IssueTokenResponse login;
           EXPECT_TRUE(
               LoginStatus("org-b", req.username(), resp.generated_password(), &login).ok());
           o.credential = ScopesOf(login.access_token());
         }
         return o;
       },
       [](const std::string& s, Target t) {
         if (!Holds(s, "accounts:write")) return StatusCode::PERMISSION_DENIED;
         if (t == Target::kOtherOrg) return StatusCode::NOT_FOUND;
         if (s == "none") return StatusCode::PERMISSION_DENIED;
         return Reaches(s, t) ? StatusCode::OK : StatusCode::PERMISSION_DENIED;
       }},
      {adm + "GetAccount", "",
       [&](const Who& c, const Who& t, Target) {
         v1::GetAccountRequest req;
         req.set_account_id(t.id);
         v1::GetAccountResponse resp;
         return Do(c, &AS::GetAccount, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (!Holds(s, "accounts:read")) return StatusCode::PERMISSION_DENIED;
         return t == Target::kOtherOrg ? StatusCode::NOT_FOUND : StatusCode::OK;
       }},
      {adm + "ListAccounts", "",
       [&](const Who& c, const Who&, Target) {
         v1::ListAccountsRequest req;
         v1::ListAccountsResponse resp;
         Outcome o = Do(c, &AS::ListAccounts, req, &resp);
         for (const auto& a : resp.accounts()) {
           if (a.org_id() != b_.id) o.code = StatusCode::DATA_LOSS;  // another tenant's account
         }
         return o;
       },
       [](const std::string& s, Target) { return Needs(s, "accounts:read"); }},
      {adm + "DisableAccount", "",
       [&](const Who& c, const Who& t, Target) {
         v1::DisableAccountRequest req;
         req.set_account_id(t.id);
         v1::DisableAccountResponse resp;
         return Do(c, &AS::DisableAccount, req, &resp);
       },
       [](const std::string& s, Target t) { return OnAccount(s, t, "accounts:write"); }},
      {adm + "CreateRole", "with the target's scopes",
       [&](const Who& c, const Who& t, Target k) {
         v1::CreateRoleRequest req;
         // Another organization's role name is free in this one.
         req.set_name(k == Target::kOtherOrg ? "admin-" + std::to_string(++serial_)
                                             : "r" + std::to_string(++serial_));
         req.add_scopes(k == Target::kOtherOrg || t.scope == "none"
                            ? c.scope == "none" ? "x:y" : c.scope
                            : t.scope);
         v1::CreateRoleResponse resp;
         return Do(c, &AS::CreateRole, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (!Holds(s, "roles:write")) return StatusCode::PERMISSION_DENIED;
         return Reaches(s, t) ? StatusCode::OK : StatusCode::PERMISSION_DENIED;
       }},
      {adm + "AssignRole", "the target's role to the target",
       [&](const Who& c, const Who& t, Target k) {
         v1::AssignRoleRequest req;
         req.set_account_id(t.id);
         req.set_role(RoleToGrant(t, k));
         v1::AssignRoleResponse resp;
         return Do(c, &AS::AssignRole, req, &resp);
       },
       OnRoleOfAccount},
      {adm + "UnassignRole", "the target's role from the target",
       [&](const Who& c, const Who& t, Target k) {
         v1::UnassignRoleRequest req;
         req.set_account_id(t.id);
         req.set_role(RoleToGrant(t, k));
         v1::UnassignRoleResponse resp;
         return Do(c, &AS::UnassignRole, req, &resp);
       },
       OnRoleOfAccount},
      {adm + "CreateApiKey", "USER_TOKEN for the target",
       [&](const Who& c, const Who& t, Target) {
         v1::CreateApiKeyRequest req;
         req.set_account_id(t.id);
         req.set_name("k");
         req.set_kind(v1::API_KEY_KIND_USER_TOKEN);
         v1::CreateApiKeyResponse resp;
         Outcome o = Do(c, &AS::CreateApiKey, req, &resp);
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.key());
         return o;
       },
       [](const std::string& s, Target t) { return OnAccountOrOwn(s, t, "api_keys:write"); }},
      {adm + "CreateApiKey", "SERVICE_TOKEN for the target, with the caller's scope",
       [&](const Who& c, const Who& t, Target) {
         v1::CreateApiKeyRequest req;
         req.set_account_id(t.id);
         req.set_name("k");
         req.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
         req.add_scopes(c.scope == "none" ? "x:y" : c.scope);
         v1::CreateApiKeyResponse resp;
         Outcome o = Do(c, &AS::CreateApiKey, req, &resp);
         if (o.code == StatusCode::OK) o.credential = ScopesOf(resp.key(), resp.secret());
         return o;
       },
       [](const std::string& s, Target t) {
         // Its own account: no scope needed, but the token's scopes must be its account's.
         if (t == Target::kOwn) return s == "none" ? StatusCode::INVALID_ARGUMENT : StatusCode::OK;
         return OnAccount(s, t, "api_keys:write");
       }},
      {adm + "ListApiKeys", "the target's",
       [&](const Who& c, const Who& t, Target) {
         v1::ListApiKeysRequest req;
         req.set_account_id(t.id);
         v1::ListApiKeysResponse resp;
         return Do(c, &AS::ListApiKeys, req, &resp);
       },
       [](const std::string& s, Target t) {
         if (t == Target::kOwn) return StatusCode::OK;
         if (!Holds(s, "api_keys:read")) return StatusCode::PERMISSION_DENIED;
         return t == Target::kOtherOrg ? StatusCode::NOT_FOUND : StatusCode::OK;
       }},
      {adm + "ListAuditEvents", "",
       [&](const Who& c, const Who&, Target) {
         v1::ListAuditEventsRequest req;
         v1::ListAuditEventsResponse resp;
         return Do(c, &AS::ListAuditEvents, req, &resp);
       },
       [](const std::string& s, Target) { return Needs(s, "audit:read"); }},
  };
}

TEST_F(AuthorizationMatrixTest, EveryRpcHasRows) {
  std::set<std::string> covered;
  std::set<std::string> variants;
  for (const Row& row : Rows()) {
    covered.insert(row.rpc);
    variants.insert(row.variant.substr(0, row.variant.find(':')));
  }
  // Every case of the requests' `target` and `grant` oneofs has a row of its own.
  for (const auto* message : {v1::RevokeRequest::descriptor(), v1::RotateRequest::descriptor(),
                              v1::IssueTokenRequest::descriptor()}) {
    for (int i = 0; i < message->oneof_decl_count(); ++i) {
      const auto* oneof = message->oneof_decl(i);
      for (int f = 0; f < oneof->field_count(); ++f) {
        std::string name = oneof->field(f)->name();
        bool found = std::any_of(variants.begin(), variants.end(),
                                 [&](const std::string& v) { return v.rfind(name, 0) == 0; });
        EXPECT_TRUE(found) << message->full_name() << "." << name << " has no row";
      }
    }
  }
  for (const auto* name :
       {v1::TokenService::service_full_name(), v1::AdminService::service_full_name()}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(d, nullptr) << name;
    for (int i = 0; i < d->method_count(); ++i) {
      EXPECT_EQ(covered.count(d->method(i)->full_name()), 1u)
          << d->method(i)->full_name() << " has no rows in the authorization matrix";
    }
  }
}

// One shard per caller scope, so each stays well inside a test's time limit under sanitizers.
class AuthorizationMatrixByScopeTest : public AuthorizationMatrixTest,
                                       public ::testing::WithParamInterface<std::string> {};

TEST_P(AuthorizationMatrixByScopeTest, EveryRpcOnEveryTarget) {
  const std::string scope = GetParam();
  {  // a role of org A only, for the rows that name another organization's role
    v1::CreateRoleRequest req;
    req.set_name("a-only");
    req.add_scopes("x:y");
    v1::CreateRoleResponse resp;
    ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateRole, req, &resp).ok());
  }
  int cells = 0, not_applicable = 0;
  for (const Row& row : Rows()) {
    for (Target t : kTargets) {
      SCOPED_TRACE(row.rpc + " (" + row.variant + ") by " + scope + " on " + Name(t));
      StatusCode expected = row.expected(scope, t);
      if (expected == kNotApplicable) {
        ++not_applicable;
        continue;
      }
      Who caller = Account(scope);  // fresh each time: some calls disable or rotate it
      Who target = TargetFor(caller, t);
      Outcome got = row.call(caller, target, t);
      EXPECT_EQ(got.code, expected);
      if (got.credential) {
        // What the caller obtained holds no more than the caller.
        for (const std::string& s : *got.credential) {
          EXPECT_TRUE(scope == "admin" || s == scope) << "the credential holds " << s;
        }
      }
      ++cells;
    }
  }
  std::printf("  %s: %d cells checked, %d not applicable\n", scope.c_str(), cells, not_applicable);
  // A service token of an account holding nothing cannot exist: its own (4 targets) and its
  // secret's rotation on its own and another such account.
  EXPECT_EQ(not_applicable, scope == "none" ? 6 : 0);
}

INSTANTIATE_TEST_SUITE_P(Callers, AuthorizationMatrixByScopeTest,
                         ::testing::ValuesIn(kCallerScopes),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == ':') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace tessera
