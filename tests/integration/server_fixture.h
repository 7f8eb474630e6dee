// ServerTest: the whole service in-process on port 0 over a fresh database on a real
// PostgreSQL, with a FakeClock, real gRPC stubs, and two organizations (platform org A and org B
// created through the API), each with a logged-in admin.
#ifndef TESSERA_TESTS_INTEGRATION_SERVER_FIXTURE_H_
#define TESSERA_TESTS_INTEGRATION_SERVER_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "core/encoding.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "storage/pg_change_feed.h"
#include "tessera/v1/admin.grpc.pb.h"
#include "tessera/v1/token.grpc.pb.h"
#include "tests/integration/test_db.h"

namespace tessera {

struct Org {
  std::string id, slug, admin_id, admin_password, token;
};

class ServerTest : public ::testing::Test {
 protected:
  // Lets a test change settings before the server starts.
  virtual void Configure(Config&) {}

  void SetUp() override {
    config_.database_url = testing::FreshDatabaseUrl();
    config_.grpc_listen = "127.0.0.1:0";
    config_.http_listen = "127.0.0.1:0";
    config_.issuer = "https://tessera.test";
    config_.access_token_ttl = absl::Seconds(900);
    config_.refresh_token_ttl = absl::Hours(24);
    config_.key_encryption_key = RandomBytes(32);
    config_.pepper = RandomBytes(32);
    config_.argon2 = Argon2Params{.memory_kib = 256, .iterations = 1};
    config_.password_threads = 2;
    config_.health_interval = absl::Seconds(1);
    config_.startup_timeout = absl::Seconds(10);
    config_.log_level = LogLevel::kWarning;
    Configure(config_);
    clock_.Set(absl::Now());
    auto boot = RunBootstrap(config_, clock_, "org-a", "Org A", "admin");
    ASSERT_TRUE(boot.ok()) << boot.status();
    app_ = std::make_unique<ServerApp>(config_, clock_);
    ASSERT_TRUE(app_->Start().ok());
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(app_->grpc_port()),
                                       grpc::InsecureChannelCredentials());
    tokens_ = v1::TokenService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    a_ = Org{boot->org_id, "org-a", boot->account_id, boot->password, ""};
    a_.token = Login("org-a", "admin", a_.admin_password);
    ASSERT_FALSE(a_.token.empty());

    v1::CreateOrganizationRequest req;
    req.set_slug("org-b");
    req.set_name("Org B");
    req.set_admin_username("admin");
    v1::CreateOrganizationResponse resp;
    ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateOrganization, req, &resp).ok());
    b_ = Org{resp.organization().id(), "org-b", resp.admin_account().id(), resp.admin_password(),
             ""};
    b_.token = Login("org-b", "admin", b_.admin_password);
    ASSERT_FALSE(b_.token.empty());
  }

  void TearDown() override {
    if (app_) app_->Shutdown(absl::Seconds(1));
  }

  template <typename Method, typename Req, typename Resp>
  grpc::Status Call(const std::string& token, Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    auto* stub = StubFor(method);
    return (stub->*method)(&ctx, req, resp);
  }
  template <typename Req, typename Resp>
  v1::AdminService::Stub* StubFor(grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*,
                                                                           const Req&, Resp*)) {
    return admin_.get();
  }
  template <typename Req, typename Resp>
  v1::TokenService::Stub* StubFor(grpc::Status (v1::TokenService::Stub::*)(grpc::ClientContext*,
                                                                           const Req&, Resp*)) {
    return tokens_.get();
  }

  grpc::Status LoginStatus(const std::string& org, const std::string& user,
                           const std::string& password, v1::IssueTokenResponse* resp) {
    v1::IssueTokenRequest req;
    req.mutable_password()->set_org_slug(org);
    req.mutable_password()->set_username(user);
    req.mutable_password()->set_password(password);
    return Call("", &v1::TokenService::Stub::IssueToken, req, resp);
  }
  std::string Login(const std::string& org, const std::string& user, const std::string& pw) {
    v1::IssueTokenResponse resp;
    grpc::Status s = LoginStatus(org, user, pw, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.access_token();
  }
  v1::IntrospectResponse Introspect(const std::string& caller, const std::string& token) {
    v1::IntrospectRequest req;
    req.set_token(token);
    v1::IntrospectResponse resp;
    grpc::Status s = Call(caller, &v1::TokenService::Stub::Introspect, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  // A USER account in the org of `admin_token` holding a role with `scopes`.
  std::string MakeUser(const std::string& admin_token, const std::string& name,
                       const std::vector<std::string>& scopes) {
    v1::CreateRoleRequest role;
    role.set_name(name + "-role");
    for (const auto& s : scopes) role.add_scopes(s);
    v1::CreateRoleResponse role_resp;
    EXPECT_TRUE(Call(admin_token, &v1::AdminService::Stub::CreateRole, role, &role_resp).ok());
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_USER);
    req.set_username(name);
    req.set_password("password-" + name);
    req.add_roles(name + "-role");
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(admin_token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.account().id();
  }
  // A SERVICE account of org A holding a role with `scopes`; returns {id, generated password}.
  std::pair<std::string, std::string> MakeServiceAccount(const std::string& name,
                                                         const std::vector<std::string>& scopes) {
    v1::CreateRoleRequest role;
    role.set_name(name + "-role");
    for (const auto& s : scopes) role.add_scopes(s);
    v1::CreateRoleResponse role_resp;
    EXPECT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateRole, role, &role_resp).ok());
    v1::CreateAccountRequest req;
    req.set_kind(v1::ACCOUNT_KIND_SERVICE);
    req.set_username(name);
    req.add_roles(name + "-role");
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(a_.token, &v1::AdminService::Stub::CreateAccount, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.account().id(), resp.generated_password()};
  }
  // A service token of a new SERVICE account of org A whose role and token hold `scopes`:
  // {token, secret}.
  std::pair<std::string, std::string> MakeServiceToken(const std::string& name,
                                                       const std::vector<std::string>& scopes) {
    auto [account_id, unused] = MakeServiceAccount(name, scopes);
    v1::CreateApiKeyRequest key;
    key.set_account_id(account_id);
    key.set_name(name);
    key.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
    for (const auto& s : scopes) key.add_scopes(s);
    v1::CreateApiKeyResponse key_resp;
    grpc::Status s = Call(a_.token, &v1::AdminService::Stub::CreateApiKey, key, &key_resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {key_resp.key(), key_resp.secret()};
  }
  // This replica applied its own writes before they returned; the same changes also come back
  // through the channel, and re-reading an account or a key then is a query the feed makes.
  // Tests that count Introspect's queries let those echoes land first.
  void WaitForFeedEchoes() { SyncFeed(app_->change_feed()); }
  // Returns once `feed` has applied every change committed so far: sends a marker on the
  // change channel (on a connection of its own, so the pool's counters do not move) and waits
  // for the feed to pass it, since the channel delivers in commit order.
  void SyncFeed(const PgChangeFeed& feed) {
    std::string id = RandomHex(8);
    testing::QueryValue(config_.database_url,
                        "SELECT pg_notify('" + std::string(kChangeChannel) + "', '" +
                            EncodeChange(Change{.kind = ChangeKind::kMarker, .id = id}) + "')");
    ASSERT_TRUE(feed.WaitForMarker(id, absl::Seconds(30))) << "the change feed fell behind";
  }
  std::set<std::string> Scopes(const v1::IntrospectResponse& r) {
    return {r.scopes().begin(), r.scopes().end()};
  }

  Config config_ = DefaultConfig();
  FakeClock clock_;
  std::unique_ptr<ServerApp> app_;
  std::unique_ptr<v1::TokenService::Stub> tokens_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  Org a_, b_;
};

}  // namespace tessera

#endif  // TESSERA_TESTS_INTEGRATION_SERVER_FIXTURE_H_
