// Envoy's external authorization (envoy.service.auth.v3.Authorization/Check) on a real
// PostgreSQL, in-process, over gRPC, with CheckRequests shaped as Envoy's ext_authz filter sends
// them (lower-case headers with the HTTP/2 pseudo-headers, the downstream client's address and
// principal, per-route context_extensions): an allowed request gets the caller's identity as
// headers (the client's forged ones gone) and loses its credential; 401, 403 and 429 are
// answered as RFC 6750 and Envoy expect; a revocation or an unassigned role is denied on the
// next Check, here and on a second replica; organizations stay apart; no Check touches the
// database; and only the proxy's own credential failing is a gRPC error.
#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "services/introspection_logic.h"
#include "services/proxy_check_logic.h"
#include "storage/pg_pool.h"
#include "tests/integration/replica.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using Headers = std::map<std::string, std::string>;

// A request to GET https://orders.shop.test/orders/42 as Envoy describes it, from the client
// 10.1.2.3:40000 (SPIFFE principal of the frontend), with `headers` added to the usual ones.
CheckRequest EnvoyRequest(const Headers& headers, const Headers& extensions = {}) {
  CheckRequest r;
  auto* a = r.mutable_attributes();
  auto* source = a->mutable_source();
  source->mutable_address()->mutable_socket_address()->set_address("10.1.2.3");
  source->mutable_address()->mutable_socket_address()->set_port_value(40000);
  source->set_principal("spiffe://cluster.local/ns/shop/sa/frontend");
  auto* destination = a->mutable_destination();
  destination->mutable_address()->mutable_socket_address()->set_address("10.0.0.9");
  destination->mutable_address()->mutable_socket_address()->set_port_value(8080);
  a->mutable_request()->mutable_time()->set_seconds(1'800'000'000);
  auto* http = a->mutable_request()->mutable_http();
  http->set_id("3b1e6c6e-5c1f-4b8e-9f4e-0a7c2f1d9e11");
  http->set_method("GET");
  http->set_path("/orders/42");
  http->set_host("orders.shop.test");
  http->set_scheme("https");
  http->set_protocol("HTTP/2");
  auto& h = *http->mutable_headers();
  h[":authority"] = "orders.shop.test";
  h[":method"] = "GET";
  h[":path"] = "/orders/42";
  h[":scheme"] = "https";
  h["user-agent"] = "curl/7.88.1";
  h["accept"] = "*/*";
  h["x-forwarded-proto"] = "https";
  h["x-request-id"] = http->id();
  for (const auto& [k, v] : headers) h[k] = v;
  for (const auto& [k, v] : extensions) (*a->mutable_context_extensions())[k] = v;
  return r;
}

Headers Bearer(const std::string& token) { return {{"authorization", "Bearer " + token}}; }

// The headers an answer sets (each must replace, never append), by name.
Headers SetHeaders(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& in) {
  Headers out;
  for (const auto& h : in) {
    EXPECT_TRUE(h.has_append() && !h.append().value()) << h.header().key() << " would append";
    out[h.header().key()] = h.header().value();
  }
  return out;
}

class ExtAuthzTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    authz_ = Authorization::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(app_->grpc_port()), grpc::InsecureChannelCredentials()));
  }

  // Check as the proxy holding `proxy_token` (the Check call's own credential) asks it.
  grpc::Status CheckStatus(const std::string& proxy_token, const CheckRequest& req,
                           CheckResponse* resp, Authorization::Stub* stub = nullptr) {
    grpc::ClientContext ctx;
    if (!proxy_token.empty()) ctx.AddMetadata("authorization", "Bearer " + proxy_token);
    return (stub ? stub : authz_.get())->Check(&ctx, req, resp);
  }
  CheckResponse Check(const CheckRequest& req, const std::string& proxy = "") {
    CheckResponse resp;
    grpc::Status s = CheckStatus(proxy.empty() ? a_.token : proxy, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  // The HTTP status Envoy would answer the client with: 200 (passed) or the denied one.
  static int HttpOf(const CheckResponse& r) {
    if (r.status().code() == 0 && r.has_ok_response()) return 200;
    return r.denied_response().status().code();
  }
  grpc::Status Unassign(const std::string& account_id, const std::string& role) {
    v1::UnassignRoleRequest req;
    req.set_account_id(account_id);
    req.set_role(role);
    v1::UnassignRoleResponse resp;
    return Call(a_.token, &v1::AdminService::Stub::UnassignRole, req, &resp);
  }
  grpc::Status Revoke(const std::string& token) {
    v1::RevokeRequest req;
    req.set_token(token);
    v1::RevokeResponse resp;
    return Call(a_.token, &v1::TokenService::Stub::Revoke, req, &resp);
  }

  std::unique_ptr<Authorization::Stub> authz_;
};

TEST_F(ExtAuthzTest, AllowedRequestCarriesTheCallerAndLosesItsCredentialAndForgeries) {
  std::string alice_id = MakeUser(a_.token, "alice", {"orders:read", "orders:write"});
  std::string token = Login("org-a", "alice", "password-alice");
  Headers sent = Bearer(token);
  sent["x-tessera-subject"] = b_.admin_id;  // forged: replaced by the real one
  sent["x-tessera-scopes"] = "admin";       // forged: replaced
  sent["x-tessera-role"] = "superuser";     // forged, a name tessera never sets: removed
  sent["x_tessera_org_id"] = b_.id;         // the same to a CGI upstream: removed
  sent["x-api-secret"] = "whatever";
  CheckResponse r = Check(EnvoyRequest(
      sent, {{"tessera.required_scopes", "orders:read"}, {"envoy.other_filter", "ignored"}}));
  ASSERT_EQ(HttpOf(r), 200) << r.DebugString();
  Headers set = SetHeaders(r.ok_response().headers());
  EXPECT_EQ(set, (Headers{{"x-tessera-subject", alice_id},
                          {"x-tessera-org-id", a_.id},
                          {"x-tessera-scopes", "orders:read orders:write"},
                          {"x-tessera-client-id", alice_id}}));
  std::vector<std::string> removed(r.ok_response().headers_to_remove().begin(),
                                   r.ok_response().headers_to_remove().end());
  std::sort(removed.begin(), removed.end());
  // Envoy removes after it sets: the names set above are not listed, or the upstream would
  // lose them.
  EXPECT_EQ(removed, (std::vector<std::string>{"authorization", "x-api-secret", "x-tessera-role",
                                               "x_tessera_org_id"}));
  const auto& meta = r.dynamic_metadata().fields();
  EXPECT_EQ(meta.at("subject").string_value(), alice_id);
  EXPECT_EQ(meta.at("org_id").string_value(), a_.id);
  EXPECT_EQ(meta.at("client_id").string_value(), alice_id);
  ASSERT_EQ(meta.at("scopes").list_value().values_size(), 2);
  EXPECT_EQ(meta.at("scopes").list_value().values(0).string_value(), "orders:read");
}

TEST_F(ExtAuthzTest, AScopelessCallerGetsNoScopesHeaderAndAForgedOneRemoved) {
  v1::CreateAccountRequest req;  // an account without a role holds no scope
  req.set_kind(v1::ACCOUNT_KIND_USER);
  req.set_username("nobody");
  req.set_password("password-nobody");
  v1::CreateAccountResponse created;
  ASSERT_TRUE(Call(a_.token, &v1::AdminService::Stub::CreateAccount, req, &created).ok());
  std::string token = Login("org-a", "nobody", "password-nobody");
  Headers sent = Bearer(token);
  sent["x-tessera-scopes"] = "admin";
  CheckResponse r = Check(EnvoyRequest(sent));
  ASSERT_EQ(HttpOf(r), 200) << r.DebugString();
  EXPECT_EQ(SetHeaders(r.ok_response().headers()).count("x-tessera-scopes"), 0u);
  const auto& removed = r.ok_response().headers_to_remove();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "x-tessera-scopes"), removed.end());
}

TEST_F(ExtAuthzTest, ServiceTokensAndUserApiTokensPassWithTheirOwnScopes) {
  auto [key, secret] = MakeServiceToken("reporter", {"reports:read"});
  Headers sent = Bearer(key);
  sent["x-api-secret"] = secret;
  CheckResponse r = Check(EnvoyRequest(sent, {{"tessera.required_scopes", "reports:read"}}));
  ASSERT_EQ(HttpOf(r), 200) << r.DebugString();
  EXPECT_EQ(SetHeaders(r.ok_response().headers())["x-tessera-scopes"], "reports:read");
  // Without its secret, a service token is no credential.
  r = Check(EnvoyRequest(Bearer(key), {{"tessera.required_scopes", "reports:read"}}));
  EXPECT_EQ(HttpOf(r), 401);
}

TEST_F(ExtAuthzTest, NoOrABadCredentialIs401AsRfc6750Says) {
  CheckResponse none = Check(EnvoyRequest({}));
  EXPECT_EQ(HttpOf(none), 401);
  EXPECT_EQ(none.status().code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(SetHeaders(none.denied_response().headers())["www-authenticate"], "Bearer");
  for (const std::string& bad :
       {std::string("Bearer not-a-token"), std::string("Basic YTpi"), "Bearer " + a_.token + "x"}) {
    CheckResponse r = Check(EnvoyRequest({{"authorization", bad}}));
    EXPECT_EQ(HttpOf(r), 401) << bad;
    Headers h = SetHeaders(r.denied_response().headers());
    EXPECT_EQ(h["www-authenticate"], R"(Bearer error="invalid_token")");
    EXPECT_EQ(h["content-type"], "application/json");
    EXPECT_EQ(r.denied_response().body(),
              R"({"error":"invalid_token","error_description":"invalid bearer credential"})");
    EXPECT_FALSE(r.has_ok_response());
  }
}

TEST_F(ExtAuthzTest, AMissingScopeIs403AndAdminGrantsEveryScope) {
  MakeUser(a_.token, "reader", {"orders:read"});
  std::string reader = Login("org-a", "reader", "password-reader");
  CheckResponse r = Check(
      EnvoyRequest(Bearer(reader), {{"tessera.required_scopes", "orders:read orders:write"}}));
  EXPECT_EQ(HttpOf(r), 403);
  EXPECT_EQ(r.status().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(SetHeaders(r.denied_response().headers())["www-authenticate"],
            R"(Bearer error="insufficient_scope", scope="orders:read orders:write")");
  EXPECT_NE(r.denied_response().body().find("orders:write"), std::string::npos);
  // The org's admin holds `admin`, which grants both.
  r = Check(
      EnvoyRequest(Bearer(a_.token), {{"tessera.required_scopes", "orders:read orders:write"}}));
  EXPECT_EQ(HttpOf(r), 200);
}

TEST_F(ExtAuthzTest, RevocationAndAnUnassignedRoleAreDeniedOnTheNextCheckOnBothReplicas) {
  Replica b(config_, clock_);
  ASSERT_TRUE(b.status.ok()) << b.status;
  auto b_authz = Authorization::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(b.app.grpc_port()), grpc::InsecureChannelCredentials()));
  std::string carol_id = MakeUser(a_.token, "carol", {"orders:read"});
  std::string carol = Login("org-a", "carol", "password-carol");
  std::string revoked = Login("org-a", "carol", "password-carol");
  CheckRequest scoped = EnvoyRequest(Bearer(carol), {{"tessera.required_scopes", "orders:read"}});
  CheckRequest to_revoke = EnvoyRequest(Bearer(revoked));
  auto http_on_b = [&](const CheckRequest& req) {
    CheckResponse resp;
    grpc::Status s = CheckStatus(a_.token, req, &resp, b_authz.get());
    EXPECT_TRUE(s.ok()) << s.error_message();
    return HttpOf(resp);
  };
  // Both replicas know carol before anything changes (B learns of her through its feed).
  SyncFeed(b.app.change_feed());
  ASSERT_EQ(HttpOf(Check(scoped)), 200);
  ASSERT_EQ(HttpOf(Check(to_revoke)), 200);
  ASSERT_EQ(http_on_b(scoped), 200);
  ASSERT_EQ(http_on_b(to_revoke), 200);

  ASSERT_TRUE(Revoke(revoked).ok());
  ASSERT_TRUE(Unassign(carol_id, "carol-role").ok());
  // The replica that wrote applies its own writes before answering: the very next Check.
  EXPECT_EQ(HttpOf(Check(to_revoke)), 401);
  EXPECT_EQ(HttpOf(Check(scoped)), 403);
  // The other follows through the change feed (the e2e test holds it to 100 ms).
  absl::Time start = absl::Now();
  while (http_on_b(to_revoke) != 401 || http_on_b(scoped) != 403) {
    ASSERT_LT(absl::Now() - start, absl::Seconds(5)) << "replica B still lets carol through";
    absl::SleepFor(absl::Milliseconds(1));
  }
}

TEST_F(ExtAuthzTest, ChecksMakeNoDatabaseRoundTrip) {
  MakeUser(a_.token, "dora", {"orders:read"});
  std::string dora = Login("org-a", "dora", "password-dora");
  std::string revoked = Login("org-a", "dora", "password-dora");
  ASSERT_TRUE(Revoke(revoked).ok());
  auto [key, secret] = MakeServiceToken("svc", {"orders:read"});
  Headers with_secret = Bearer(key);
  with_secret["x-api-secret"] = secret;
  WaitForFeedEchoes();
  const int64_t before = app_->pool().transactions_started();
  for (int round = 0; round < 3; ++round) {  // first-seen and cached alike
    EXPECT_EQ(
        HttpOf(Check(EnvoyRequest(Bearer(dora), {{"tessera.required_scopes", "orders:read"}}))),
        200);
    EXPECT_EQ(HttpOf(Check(EnvoyRequest(with_secret))), 200);
    EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(revoked)))), 401);
    EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(dora), {{"tessera.required_scopes", "x:y"}}))), 403);
    EXPECT_EQ(HttpOf(Check(EnvoyRequest({}))), 401);
  }
  EXPECT_EQ(app_->pool().transactions_started(), before);
}

TEST_F(ExtAuthzTest, WrongSecretsLockTheKeyAndTheClientAddressOut429) {
  auto [key, secret] = MakeServiceToken("locked", {"orders:read"});
  Headers wrong = Bearer(key);
  wrong["x-api-secret"] = std::string(64, 'a');
  for (int i = 0; i < config_.login_max_failures; ++i) {
    EXPECT_EQ(HttpOf(Check(EnvoyRequest(wrong))), 401) << "attempt " << i;
  }
  Headers right = Bearer(key);
  right["x-api-secret"] = secret;
  CheckResponse r = Check(EnvoyRequest(right));  // the right secret too: a lock says nothing
  EXPECT_EQ(HttpOf(r), 429);
  EXPECT_EQ(r.status().code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  Headers h = SetHeaders(r.denied_response().headers());
  int64_t retry_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(h["retry-after"], &retry_after)) << h["retry-after"];
  EXPECT_GE(retry_after, 1);
  clock_.Advance(absl::Seconds(retry_after + 1));
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(right))), 200);
}

class ExtAuthzPeerTest : public ExtAuthzTest {
 protected:
  void Configure(Config& c) override {
    c.login_max_failures = 100;  // the keys' own counts stay below their limit
    c.peer_max_failures = 3;
  }
};

TEST_F(ExtAuthzPeerTest, TheDownstreamClientsAddressIsThrottledNotTheProxys) {
  auto [key, secret] = MakeServiceToken("peer", {"orders:read"});
  Headers wrong = Bearer(key);
  wrong["x-api-secret"] = std::string(64, 'b');
  for (int i = 0; i < 3; ++i) EXPECT_EQ(HttpOf(Check(EnvoyRequest(wrong))), 401);
  Headers right = Bearer(key);
  right["x-api-secret"] = secret;
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(right))), 429);  // from 10.1.2.3: locked
  CheckRequest elsewhere = EnvoyRequest(right);
  elsewhere.mutable_attributes()
      ->mutable_source()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_address("10.9.9.9");
  EXPECT_EQ(HttpOf(Check(elsewhere)), 200);  // another client through the same proxy passes
}

TEST_F(ExtAuthzTest, CrossTenantRoutePolicyLetsOnlyItsOrganizationThrough) {
  std::string b_user = MakeUser(b_.token, "erin", {"orders:read"});
  std::string erin = Login("org-b", "erin", "password-erin");
  // A platform organization's proxy (a shared gateway) sees every organization's tokens...
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(erin)))), 200);
  // ...and a route of org A's lets only org A's through.
  CheckResponse r = Check(EnvoyRequest(Bearer(erin), {{"tessera.org_id", a_.id}}));
  EXPECT_EQ(HttpOf(r), 403);
  EXPECT_EQ(r.status().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(a_.token), {{"tessera.org_id", a_.id}}))), 200);
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(erin), {{"tessera.org_id", b_.id}}))), 200);
}

TEST_F(ExtAuthzTest, CrossTenantProxyOfOneOrganizationSeesNoOtherOrganizationsCredentials) {
  // Org B's admin as the proxy: org A's token and service token are unknown to it.
  MakeUser(a_.token, "frank", {"orders:read"});
  std::string frank = Login("org-a", "frank", "password-frank");
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(frank)), b_.token)), 401);
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(b_.token)), b_.token)), 200);
  // Wrong secrets sent through org B's proxy do not count against org A's key.
  auto [key, secret] = MakeServiceToken("a-svc", {"orders:read"});
  Headers wrong = Bearer(key);
  wrong["x-api-secret"] = std::string(64, 'c');
  for (int i = 0; i < config_.login_max_failures + 2; ++i) {
    EXPECT_EQ(HttpOf(Check(EnvoyRequest(wrong), b_.token)), 401);
  }
  Headers right = Bearer(key);
  right["x-api-secret"] = secret;
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(right))), 200);  // org A's own proxy: not locked
}

TEST_F(ExtAuthzTest, OnlyTheProxysOwnCredentialFailingIsAGrpcError) {
  CheckResponse resp;
  EXPECT_EQ(CheckStatus("", EnvoyRequest(Bearer(a_.token)), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CheckStatus("not-a-token", EnvoyRequest(Bearer(a_.token)), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A caller without tokens:introspect may not ask (nor learn what a token is worth).
  MakeUser(a_.token, "grace", {"orders:read"});
  std::string grace = Login("org-a", "grace", "password-grace");
  EXPECT_EQ(CheckStatus(grace, EnvoyRequest(Bearer(a_.token)), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  MakeUser(a_.token, "gateway", {"tokens:introspect"});
  std::string gateway = Login("org-a", "gateway", "password-gateway");
  EXPECT_EQ(HttpOf(Check(EnvoyRequest(Bearer(a_.token)), gateway)), 200);
}

TEST_F(ExtAuthzTest, AMisconfiguredRoutePolicyDeniesWith500) {
  for (const Headers& ext :
       {Headers{{"tessera.required_scope", "orders:read"}},  // typos
        Headers{{"Tessera.required_scopes", "orders:read"}},
        Headers{{"tessera_required_scopes", "orders:read"}}, Headers{{" tessera.org_id", "x"}},
        Headers{{"tessera.required_scopes", "Orders Read"}}, Headers{{"tessera.org_id", "org-a"}},
        Headers{{"tessera.org_id", ""}}}) {
    CheckResponse r = Check(EnvoyRequest(Bearer(a_.token), ext));
    EXPECT_EQ(HttpOf(r), 500) << ext.begin()->first;
    EXPECT_EQ(r.status().code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(r.denied_response().body().find("route policy misconfigured"), std::string::npos);
  }
}

TEST_F(ExtAuthzTest, RawHeadersAsEnvoySendsThemWithEncodeRawHeaders) {
  CheckRequest req = EnvoyRequest({});
  auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
  http->clear_headers();
  for (const auto& [k, v] : Headers{{":path", "/orders/42"},
                                    {"authorization", "Bearer " + a_.token},
                                    {"x-tessera-org-id", "forged"}}) {
    auto* h = http->mutable_header_map()->add_headers();
    h->set_key(k);
    h->set_raw_value(v);
  }
  CheckResponse r = Check(req);
  ASSERT_EQ(HttpOf(r), 200) << r.DebugString();
  EXPECT_EQ(SetHeaders(r.ok_response().headers())["x-tessera-org-id"], a_.id);
  // Two authorization headers are no credential, whichever of them is valid.
  auto* dup = http->mutable_header_map()->add_headers();
  dup->set_key("authorization");
  dup->set_raw_value("Bearer " + a_.token);
  EXPECT_EQ(HttpOf(Check(req)), 401);
}

TEST_F(ExtAuthzTest, AProxysOwnWrongSecretIsCountedBeforeItIsRefused) {
  // Named copies: a lambda may not capture structured bindings (clang, C++20).
  const auto proxy_credential = MakeServiceToken("gateway", {"tokens:introspect"});
  const std::string proxy_key = proxy_credential.first, proxy_secret = proxy_credential.second;
  CheckRequest req = EnvoyRequest(Bearer(a_.token));
  auto as_proxy = [&](const std::string& secret, CheckResponse* resp) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + proxy_key);
    ctx.AddMetadata("x-api-secret", secret);
    grpc::Status s = authz_->Check(&ctx, req, resp);
    const auto& trailers = ctx.GetServerTrailingMetadata();
    auto retry = trailers.find("retry-after");
    return std::make_pair(s.error_code(),
                          retry == trailers.end()
                              ? std::string()
                              : std::string(retry->second.data(), retry->second.size()));
  };
  CheckResponse resp;
  ASSERT_EQ(as_proxy(proxy_secret, &resp).first, grpc::StatusCode::OK);
  EXPECT_EQ(HttpOf(resp), 200);
  // Each wrong secret is written to PostgreSQL (off the reactor) before the refusal goes out, so
  // the next call already sees the count: the sixth is locked out, right secret or not.
  for (int i = 0; i < config_.login_max_failures; ++i) {
    EXPECT_EQ(as_proxy(std::string(64, 'd'), &resp).first, grpc::StatusCode::UNAUTHENTICATED);
  }
  auto [code, retry_after] = as_proxy(proxy_secret, &resp);
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(retry_after.empty());
}

TEST_F(ExtAuthzPeerTest, CrossTenantAProxyLocksAnAddressOutOnlyBehindItself) {
  // Org B's own service token, guessed at through org B's proxy "from" 127.0.0.1: the address
  // the tests' direct gRPC calls come from too.
  v1::CreateApiKeyRequest key_req;
  key_req.set_name("b-svc");
  key_req.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
  v1::CreateApiKeyResponse b_key;
  ASSERT_TRUE(Call(b_.token, &v1::AdminService::Stub::CreateApiKey, key_req, &b_key).ok());
  auto from_loopback = [](const Headers& h) {
    CheckRequest r = EnvoyRequest(h);
    r.mutable_attributes()
        ->mutable_source()
        ->mutable_address()
        ->mutable_socket_address()
        ->set_address("127.0.0.1");
    return r;
  };
  Headers wrong = Bearer(b_key.key());
  wrong["x-api-secret"] = std::string(64, 'e');
  for (int i = 0; i < 3; ++i) EXPECT_EQ(HttpOf(Check(from_loopback(wrong), b_.token)), 401);
  Headers right = Bearer(b_key.key());
  right["x-api-secret"] = b_key.secret();
  EXPECT_EQ(HttpOf(Check(from_loopback(right), b_.token)), 429);  // behind org B's proxy: locked
  // Org A's gateway, and a direct caller from 127.0.0.1, are not.
  EXPECT_EQ(HttpOf(Check(from_loopback(right))), 200);
  v1::IssueTokenRequest direct;
  direct.mutable_service_token()->set_token(b_key.key());
  direct.mutable_service_token()->set_secret(b_key.secret());
  v1::IssueTokenResponse issued;
  grpc::Status s = Call("", &v1::TokenService::Stub::IssueToken, direct, &issued);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

class ExtAuthzCertificateTest : public ExtAuthzTest {
 protected:
  void Configure(Config& c) override {
    c.ext_authz_auth = Config::RelayAuth::kMtls;
    c.introspect_auth = Config::RelayAuth::kScope;
  }
};

TEST_F(ExtAuthzCertificateTest, EachFaceFollowsItsOwnSetting) {
  CallContext by_certificate{.request_id = "r1",
                             .peer = "ipv4:10.0.0.7:5100",
                             .client_certificate_verified = true,
                             .client_certificate_identity = "spiffe://mesh/gateway"};
  auto proxy = app_->proxy_check().Caller(by_certificate);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_FALSE(proxy->has_value());  // a proxy bound to no organization
  EXPECT_EQ(app_->introspection().Caller(by_certificate).status().code(),
            absl::StatusCode::kUnauthenticated);
  CallContext no_certificate = by_certificate;
  no_certificate.client_certificate_verified = false;
  EXPECT_EQ(app_->proxy_check().Caller(no_certificate).status().code(),
            absl::StatusCode::kUnauthenticated);
}

class ExtAuthzSettingsTest : public ExtAuthzTest {
 protected:
  void Configure(Config& c) override {
    c.ext_authz_header_prefix = "x-auth-";
    c.ext_authz_keep_credential = true;
  }
};

TEST_F(ExtAuthzSettingsTest, ThePrefixAndKeepingTheCredentialAreSettings) {
  Headers sent = Bearer(a_.token);
  sent["x-auth-subject"] = "forged";
  sent["x-auth-extra"] = "forged";
  sent["x-tessera-subject"] = "not ours any more";
  CheckResponse r = Check(EnvoyRequest(sent));
  ASSERT_EQ(HttpOf(r), 200);
  Headers set = SetHeaders(r.ok_response().headers());
  EXPECT_EQ(set["x-auth-subject"], a_.admin_id);
  EXPECT_EQ(set.count("x-tessera-subject"), 0u);
  std::vector<std::string> removed(r.ok_response().headers_to_remove().begin(),
                                   r.ok_response().headers_to_remove().end());
  EXPECT_EQ(removed, std::vector<std::string>{"x-auth-extra"});
}

}  // namespace
}  // namespace tessera
