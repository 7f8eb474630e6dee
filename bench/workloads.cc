#include "bench/workloads.h"

#include <utility>

namespace tessera::bench {

Workloads::Workloads(std::shared_ptr<grpc::Channel> channel, LoadOptions options)
    : tokens_(v1::TokenService::NewStub(channel)),
      admin_(v1::AdminService::NewStub(channel)),
      echo_(Echo::NewStub(channel)),
      callback_echo_(tessera::bench::CallbackEcho::NewStub(channel)),
      authz_(envoy::service::auth::v3::Authorization::NewStub(channel)),
      options_(options) {}

void Workloads::Authorize(grpc::ClientContext& ctx) const {
  ctx.AddMetadata("authorization", "Bearer " + caller_);
}

std::string Workloads::Prepare(const std::string& org_slug, const std::string& admin_password) {
  org_slug_ = org_slug;
  v1::IssueTokenRequest login;
  login.mutable_password()->set_org_slug(org_slug);
  login.mutable_password()->set_username("admin");
  login.mutable_password()->set_password(admin_password);
  v1::IssueTokenResponse issued;
  grpc::ClientContext ctx;
  if (auto s = tokens_->IssueToken(&ctx, login, &issued); !s.ok()) {
    return "admin login: " + s.error_message();
  }
  caller_ = issued.access_token();

  v1::CreateApiKeyRequest key;
  key.set_name("bench");
  key.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
  v1::CreateApiKeyResponse created;
  grpc::ClientContext kctx;
  Authorize(kctx);
  if (auto s = admin_->CreateApiKey(&kctx, key, &created); !s.ok()) {
    return "CreateApiKey: " + s.error_message();
  }
  service_token_ = created.key();
  service_secret_ = created.secret();

  // A user with a role, and a user API token of theirs.
  v1::CreateRoleRequest role;
  role.set_name("reader");
  role.add_scopes("read:things");
  v1::CreateRoleResponse role_resp;
  grpc::ClientContext rctx;
  Authorize(rctx);
  if (auto s = admin_->CreateRole(&rctx, role, &role_resp); !s.ok()) {
    return "CreateRole: " + s.error_message();
  }
  // Password logins spread over kUsers users, as real ones are: logins of one account are
  // counted against its brute-force limit before they are hashed, so more than
  // login_max_failures of them in flight at once are refused until one succeeds.
  v1::CreateAccountResponse user_resp;
  for (int u = 0; u < kUsers; ++u) {
    v1::CreateAccountRequest user;
    user.set_kind(v1::ACCOUNT_KIND_USER);
    user.set_username(UserName(u));
    user.set_password("reader-password-1");
    user.add_roles("reader");
    grpc::ClientContext uctx;
    Authorize(uctx);
    if (auto s = admin_->CreateAccount(&uctx, user, &user_resp); !s.ok()) {
      return "CreateAccount: " + s.error_message();
    }
  }
  v1::CreateApiKeyRequest user_key;
  user_key.set_name("reader-key");
  user_key.set_kind(v1::API_KEY_KIND_USER_TOKEN);
  user_key.set_account_id(user_resp.account().id());
  v1::CreateApiKeyResponse user_key_resp;
  grpc::ClientContext ukctx;
  Authorize(ukctx);
  if (auto s = admin_->CreateApiKey(&ukctx, user_key, &user_key_resp); !s.ok()) {
    return "CreateApiKey (user token): " + s.error_message();
  }
  user_api_key_ = user_key_resp.key();
  return "";
}

LoadResult Workloads::Run(int outstanding, const StartCall& start, LoadOptions options) {
  options.outstanding = outstanding;
  return RunLoad(options, start);
}

void Workloads::Keep(const std::string& token) {
  absl::MutexLock lock(&mu_);
  pool_.push_back(token);
}

void Workloads::KeepRefresh(const std::string& token) {
  absl::MutexLock lock(&mu_);
  refresh_queue_.push_back(token);
}

const std::string& Workloads::PoolToken(size_t i) {
  static const std::string kNone;
  absl::MutexLock lock(&mu_);
  return i < pool_.size() ? pool_[i] : kNone;
}

std::vector<std::string> Workloads::PoolTokens(size_t first, size_t count) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (size_t i = first; i < first + count && i < pool_.size(); ++i) out.push_back(pool_[i]);
  return out;
}

size_t Workloads::pool_size() {
  absl::MutexLock lock(&mu_);
  return pool_.size();
}

void Workloads::ClearPool() {
  absl::MutexLock lock(&mu_);
  std::deque<std::string>().swap(pool_);
}

// ---- the calls ----

void Workloads::StartIntrospect(const std::string& token, Done done, const std::string& secret) {
  auto call = std::make_shared<Call<v1::IntrospectRequest, v1::IntrospectResponse>>();
  Authorize(call->ctx);
  call->req.set_token(token);
  if (!secret.empty()) call->req.set_secret(secret);
  tokens_->async()->Introspect(&call->ctx, &call->req, &call->resp, [call, done](grpc::Status s) {
    done(s.ok() && call->resp.active());
  });
}

void Workloads::StartIssueService(Done done) {
  auto call = std::make_shared<Call<v1::IssueTokenRequest, v1::IssueTokenResponse>>();
  call->req.mutable_service_token()->set_token(service_token_);
  call->req.mutable_service_token()->set_secret(service_secret_);
  tokens_->async()->IssueToken(&call->ctx, &call->req, &call->resp,
                               [this, call, done](grpc::Status s) {
                                 if (s.ok()) Keep(call->resp.access_token());
                                 done(s.ok());
                               });
}

std::string Workloads::UserName(int u) { return "reader-" + std::to_string(u); }

void Workloads::StartPasswordLogin(Done done) {
  auto call = std::make_shared<Call<v1::IssueTokenRequest, v1::IssueTokenResponse>>();
  call->req.mutable_password()->set_org_slug(org_slug_);
  call->req.mutable_password()->set_username(
      UserName(static_cast<int>(next_user_.fetch_add(1) % kUsers)));
  call->req.mutable_password()->set_password("reader-password-1");
  tokens_->async()->IssueToken(&call->ctx, &call->req, &call->resp,
                               [this, call, done](grpc::Status s) {
                                 if (s.ok()) KeepRefresh(call->resp.refresh_token());
                                 done(s.ok());
                               });
}

void Workloads::StartRefresh(Done done) {
  auto call = std::make_shared<Call<v1::RefreshRequest, v1::RefreshResponse>>();
  {
    absl::MutexLock lock(&mu_);
    if (refresh_queue_.empty()) return done(false);
    call->req.set_refresh_token(std::move(refresh_queue_.front()));
    refresh_queue_.pop_front();
  }
  tokens_->async()->Refresh(&call->ctx, &call->req, &call->resp,
                            [this, call, done](grpc::Status s) {
                              if (s.ok()) KeepRefresh(call->resp.refresh_token());
                              done(s.ok());
                            });
}

void Workloads::StartRevoke(Done done) {
  const std::string& token = PoolToken(revoke_next_.fetch_add(1));
  if (token.empty()) return done(false);  // the pool is spent: counted as an error
  auto call = std::make_shared<Call<v1::RevokeRequest, v1::RevokeResponse>>();
  Authorize(call->ctx);
  call->req.set_token(token);
  tokens_->async()->Revoke(&call->ctx, &call->req, &call->resp,
                           [call, done](grpc::Status s) { done(s.ok()); });
}

void Workloads::StartCheck(const std::string& token, Done done) {
  using envoy::service::auth::v3::CheckRequest;
  using envoy::service::auth::v3::CheckResponse;
  auto call = std::make_shared<Call<CheckRequest, CheckResponse>>();
  Authorize(call->ctx);
  auto* a = call->req.mutable_attributes();
  a->mutable_source()->mutable_address()->mutable_socket_address()->set_address("10.1.2.3");
  a->mutable_source()->mutable_address()->mutable_socket_address()->set_port_value(40000);
  a->mutable_source()->set_principal("spiffe://cluster.local/ns/shop/sa/frontend");
  a->mutable_destination()->mutable_address()->mutable_socket_address()->set_address("10.0.0.9");
  a->mutable_destination()->mutable_address()->mutable_socket_address()->set_port_value(8080);
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
  h["authorization"] = "Bearer " + token;
  (*a->mutable_context_extensions())["tessera.required_scopes"] = "orders:read";
  authz_->async()->Check(&call->ctx, &call->req, &call->resp, [call, done](grpc::Status s) {
    done(s.ok() && call->resp.status().code() == 0 && call->resp.has_ok_response());
  });
}

// ---- the workloads ----

template <typename Stub>
LoadResult Workloads::EchoOn(Stub& stub, int outstanding) {
  return Run(
      outstanding,
      [&](uint64_t i, Done done) {
        auto call = std::make_shared<Call<v1::IntrospectRequest, v1::IntrospectResponse>>();
        Authorize(call->ctx);
        call->req.set_token(PoolToken(i % kCachedTokens));
        stub.async()->Echo(&call->ctx, &call->req, &call->resp,
                           [call, done](grpc::Status s) { done(s.ok()); });
      },
      options_);
}

LoadResult Workloads::Echo(int outstanding) { return EchoOn(*echo_, outstanding); }

LoadResult Workloads::CallbackEcho(int outstanding) { return EchoOn(*callback_echo_, outstanding); }

LoadResult Workloads::IssueServiceTokens(int outstanding, uint64_t max_calls) {
  LoadOptions options = options_;
  if (max_calls > 0) options = LoadOptions{.warmup = absl::ZeroDuration(), .max_calls = max_calls};
  return Run(
      outstanding, [&](uint64_t, Done done) { StartIssueService(done); }, options);
}

LoadResult Workloads::PasswordLogins(int outstanding) {
  return Run(
      outstanding, [&](uint64_t, Done done) { StartPasswordLogin(done); }, options_);
}

LoadResult Workloads::Refresh(int outstanding) {
  FillRefreshQueue(static_cast<size_t>(outstanding));
  return Run(
      outstanding, [&](uint64_t, Done done) { StartRefresh(done); }, options_);
}

LoadResult Workloads::IntrospectCached(int outstanding) {
  return Run(
      outstanding,
      [&](uint64_t i, Done done) { StartIntrospect(PoolToken(i % kCachedTokens), done); },
      options_);
}

LoadResult Workloads::CheckCached(int outstanding) {
  return Run(
      outstanding, [&](uint64_t i, Done done) { StartCheck(PoolToken(i % kCachedTokens), done); },
      options_);
}

LoadResult Workloads::IntrospectFirstSeen(int outstanding, size_t first, uint64_t count) {
  // The few calls in flight past `count` read on into the tokens after the slice; the caller
  // leaves a gap before the next slice.
  return Run(
      outstanding,
      [&, first](uint64_t i, Done done) { StartIntrospect(PoolToken(first + i), done); },
      LoadOptions{.warmup = absl::ZeroDuration(), .max_calls = count});
}

LoadResult Workloads::IntrospectKey(bool service, int outstanding) {
  return Run(
      outstanding,
      [&, service](uint64_t, Done done) {
        StartIntrospect(service ? service_token_ : user_api_key_, done,
                        service ? service_secret_ : "");
      },
      options_);
}

LoadResult Workloads::Revoke(int outstanding) {
  return Run(
      outstanding, [&](uint64_t, Done done) { StartRevoke(done); }, options_);
}

LoadResult Workloads::Mixed(int outstanding) {
  FillRefreshQueue(static_cast<size_t>(outstanding));
  LoadOptions options = options_;
  options.kinds = kMixedKinds;
  options.kind_of = [](uint64_t i) -> int {
    uint64_t slot = i % 100;
    if (slot < 95) return kMixedIntrospect;
    if (slot < 99) return kMixedIssue;
    return (i / 100) % 2 == 0 ? kMixedRevoke : kMixedRefresh;
  };
  return Run(
      outstanding,
      [&, kind_of = options.kind_of](uint64_t i, Done done) {
        switch (kind_of(i)) {
          case kMixedIntrospect:
            return StartIntrospect(PoolToken(i % kCachedTokens), done);
          case kMixedIssue:
            return StartIssueService(done);
          case kMixedRevoke:
            return StartRevoke(done);
          default:
            return StartRefresh(done);
        }
      },
      options);
}

void Workloads::WarmCache() { IntrospectOnce(0, kCachedTokens); }

void Workloads::IntrospectOnce(size_t first, uint64_t count) {
  LoadOptions once{.outstanding = 64, .warmup = absl::ZeroDuration(), .max_calls = count};
  RunLoad(once, [&, first](uint64_t i, Done done) {
    // Calls past `count` (at most the outstanding ones) repeat the slice's first tokens.
    StartIntrospect(PoolToken(first + i % count), done);
  });
}

void Workloads::FillRefreshQueue(size_t n) {
  for (int round = 0; round < 10; ++round) {  // a few rounds make up for refused logins
    size_t have;
    {
      absl::MutexLock lock(&mu_);
      have = refresh_queue_.size();
    }
    if (have >= n) return;
    LoadOptions fill{.outstanding = 16, .warmup = absl::ZeroDuration(), .max_calls = n - have};
    RunLoad(fill, [&](uint64_t, Done done) { StartPasswordLogin(done); });
  }
}

}  // namespace tessera::bench
