// What an attacker types: case variants that told known names from unknown ones through the
// lockout, look-alike usernames, invalid UTF-8, a password typed into the username field, and
// another organization's caller guessing a tenant's service-token secret.
#include <regex>

#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class HostileInputTest : public ServerTest {
 protected:
  grpc::StatusCode CreateUser(const std::string& username, std::string* message = nullptr) {
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_USER);
    req.set_username(username);
    req.set_password("password-123");
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(a_.token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    if (message) *message = s.error_message();
    return s.error_code();
  }
  grpc::StatusCode LoginCode(const std::string& username, const std::string& password) {
    v1::IssueTokenResponse resp;
    return LoginStatus("org-a", username, password, &resp).error_code();
  }
  std::string Query(const std::string& sql) {
    return testing::QueryValue(config_.database_url, sql);
  }
};

TEST_F(HostileInputTest, ALockoutAnswersTheSameForKnownAndUnknownNamesInAnyCase) {
  MakeUser(a_.token, "carol", {"read:x"});
  for (int i = 0; i < config_.login_max_failures; ++i) {
    EXPECT_EQ(LoginCode("carol", "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(LoginCode("ghost", "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Before, "Carol" was a different name from "carol" only when it existed.
  EXPECT_EQ(LoginCode("Carol", "wrong-password"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(LoginCode("Ghost", "wrong-password"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(LoginCode("CAROL", "password-carol"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_.Advance(config_.login_lockout + absl::Seconds(1));
  // Usernames are case-insensitive at login too.
  EXPECT_EQ(LoginCode("CAROL", "password-carol"), grpc::StatusCode::OK);
}

TEST_F(HostileInputTest, LookAlikeUsernamesAreRefusedOrAreTheSameName) {
  ASSERT_EQ(CreateUser("jos\u00e9"), grpc::StatusCode::OK);               // precomposed é (NFC)
  EXPECT_EQ(CreateUser("jose\u0301"), grpc::StatusCode::ALREADY_EXISTS);  // e + combining acute
  EXPECT_EQ(CreateUser("JOS\u00c9"), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_EQ(CreateUser("root"), grpc::StatusCode::OK);
  EXPECT_EQ(CreateUser("Root"), grpc::StatusCode::ALREADY_EXISTS);
  std::string message;
  for (const char* bad : {"admin\u200b", "ad\u200dmin", "\u202eadmin", "admin\u00a0", "admin\u3164",
                          "admin\xef\xb8\x8f", " admin", "admin\t"}) {
    EXPECT_EQ(CreateUser(bad, &message), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(message.rfind("username: ", 0), 0u) << message;
  }
  // Compatibility forms are the same name too: fullwidth and mathematical letters.
  EXPECT_EQ(CreateUser("\uff52oot"), grpc::StatusCode::ALREADY_EXISTS);      // fullwidth r
  EXPECT_EQ(CreateUser("\U0001d42boot"), grpc::StatusCode::ALREADY_EXISTS);  // bold small r
  for (const char* bad : {"r\u043eot",   // Cyrillic o among Latin letters
                          "root\u2800",  // braille blank
                          "root\u20dd",  // combining enclosing circle
                          "root\ufffc"}) {
    EXPECT_EQ(CreateUser(bad, &message), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  EXPECT_EQ(CreateUser("\u5c71\u7530\u592a\u90ce"), grpc::StatusCode::OK);  // 山田太郎
  // Logging in with the other form of the name finds the one account.
  EXPECT_EQ(LoginCode("jose\u0301", "password-123"), grpc::StatusCode::OK);
  // Stored in NFC, as given in that form.
  EXPECT_EQ(Query("SELECT count(*) FROM accounts WHERE username = 'jos\u00e9'"), "1");
}

TEST_F(HostileInputTest, UsernamesAndEmailsAreOneNamespace) {
  v1::CreateAccountRequest alice;
  alice.set_kind(v1::ACCOUNT_KIND_USER);
  alice.set_username("alice");
  alice.set_email("Alice.Admin@corp.example");
  alice.set_password("alice-password");
  v1::CreateAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, alice, &resp).ok());
  // A username equal to another account's email (in any case) would capture its login.
  EXPECT_EQ(CreateUser("alice.admin@CORP.example"), grpc::StatusCode::ALREADY_EXISTS);
  v1::CreateAccountRequest other = alice;
  other.set_username("bob");
  other.set_email("ALICE@corp.example");
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, other, &resp).ok());
  ASSERT_EQ(CreateUser("dan@corp.example"), grpc::StatusCode::OK);  // a username with an @
  other.set_username("carl");
  other.set_email("DAN@corp.example");  // an email equal to another's username
  EXPECT_EQ(Call(a_.token, &v1::AdminService::Stub::CreateAccount, other, &resp).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(LoginCode("alice.admin@corp.example", "alice-password"), grpc::StatusCode::OK);
}

TEST_F(HostileInputTest, ALockoutAnswersTheSameForKnownAndUnknownEmailsInAnyForm) {
  v1::CreateAccountRequest sam;
  sam.set_kind(v1::ACCOUNT_KIND_USER);
  sam.set_username("sam");
  sam.set_email("sam@corp.example");
  sam.set_password("sam-password");
  v1::CreateAccountResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, sam, &resp).ok());
  for (int i = 0; i < config_.login_max_failures; ++i) {
    EXPECT_EQ(LoginCode("sam@corp.example", "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(LoginCode("sue@corp.example", "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
  }
  // "ſ" (long s) folds to "s": the same name, for the existing and the unknown alike.
  EXPECT_EQ(LoginCode("\u017fam@corp.example", "wrong"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(LoginCode("\u017fue@corp.example", "wrong"), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(HostileInputTest, InvalidUtf8IsTheCallersErrorNamingTheField) {
  v1::IssueTokenRequest req;
  req.mutable_password()->set_org_slug("org-a");
  req.mutable_password()->set_username("bad\xff\xfe");
  req.mutable_password()->set_password("whatever-password");
  v1::IssueTokenResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = tokens_->IssueToken(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(s.error_message(), "PasswordGrant.username: not valid UTF-8");
  auto id = ctx.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(id, ctx.GetServerInitialMetadata().end());
  EXPECT_TRUE(std::regex_match(std::string(id->second.data(), id->second.size()),
                               std::regex("[0-9a-f]{16}")));
  // A callback-API method (Introspect) and an admin method are answered the same way.
  v1::IntrospectRequest ireq;
  ireq.set_token("tok\xc0\xaf");
  v1::IntrospectResponse iresp;
  s = Call(a_.token, &v1::TokenService::Stub::Introspect, ireq, &iresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "IntrospectRequest.token: not valid UTF-8");
  v1::CreateRoleRequest role;
  role.set_name("r\xed\xa0\x80");  // an encoded surrogate
  v1::CreateRoleResponse role_resp;
  s = Call(a_.token, &v1::AdminService::Stub::CreateRole, role, &role_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "CreateRoleRequest.name: not valid UTF-8");
}

TEST_F(HostileInputTest, APasswordTypedAsTheUsernameIsNotKeptInTheAudit) {
  const std::string typed = "Tr0ub4dor&3-horse";
  for (int i = 0; i < config_.login_max_failures; ++i) {  // up to the lockout and its audit row
    EXPECT_EQ(LoginCode(typed, "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
  }
  MakeUser(a_.token, "dora", {"read:x"});
  EXPECT_EQ(LoginCode("DORA", "wrong-password"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action = 'auth.failed'"),
            std::to_string(config_.login_max_failures + 1));
  EXPECT_EQ(Query("SELECT count(DISTINCT target_id) FROM audit_events WHERE action IN"
                  " ('auth.failed', 'auth.lockout') AND target_type = 'login_name'"),
            "1");
  for (const char* table : {"audit_events", "auth_throttle"}) {
    EXPECT_EQ(Query(std::string("SELECT count(*) FROM ") + table +
                    " t WHERE t::text ILIKE '%Tr0ub4dor%'"),
              "0")
        << table;
  }
  // The unknown name is a digest that repeats for the same name; the known one is the account.
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action = 'auth.failed'"
                  " AND target_type = 'login_name' AND target_id ~ '^[0-9a-f]{16}$'"),
            std::to_string(config_.login_max_failures));
  EXPECT_EQ(Query("SELECT details->>'username' FROM audit_events WHERE action = 'auth.failed'"
                  " AND target_type = 'account'"),
            "dora");
}

TEST_F(HostileInputTest, CrossTenantGuessesDoNotLockAnotherOrgsServiceToken) {
  // A service token of org A.
  v1::CreateApiKeyRequest create;
  create.set_name("svc");
  create.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
  create.add_scopes("read:x");
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateApiKey, create, &key).ok());
  // Org B's admin may introspect, but not org A's tokens: its wrong secrets must count for
  // nothing.
  for (int i = 0; i < 2 * config_.login_max_failures; ++i) {
    v1::IntrospectRequest req;
    req.set_token(key.key());
    req.set_secret(std::string(64, 'a' + i % 6));
    v1::IntrospectResponse resp;
    ASSERT_TRUE(Call(b_.token, &v1::TokenService::Stub::Introspect, req, &resp).ok());
    EXPECT_FALSE(resp.active());
  }
  v1::IntrospectRequest right;
  right.set_token(key.key());
  right.set_secret(key.secret());
  v1::IntrospectResponse resp;
  ASSERT_TRUE(Call(a_.token, &v1::TokenService::Stub::Introspect, right, &resp).ok());
  EXPECT_TRUE(resp.active()) << "org B's guesses locked org A's service token";
  EXPECT_EQ(Query("SELECT count(*) FROM audit_events WHERE action IN ('auth.failed',"
                  " 'auth.lockout') AND org_id = '" +
                  a_.id + "'"),
            "0");
}

}  // namespace
}  // namespace tessera
