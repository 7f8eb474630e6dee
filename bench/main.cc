// tessera_bench: the whole service in this process (ServerApp on a real PostgreSQL, as served in
// production) plus an echo service on the same gRPC server, driven over loopback by the callback
// gRPC client. Prints a Markdown table: each workload at 1, 16 and 64 outstanding calls, with its
// rate and latencies as ratios to the echo baseline measured in the same run.
//
//   TESSERA_DATABASE_URL=... tessera_bench [--seconds=4]     (scripts/bench does all of this)
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo.grpc.pb.h"
#include "bench/load.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/log.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "tessera/v1/admin.grpc.pb.h"
#include "tessera/v1/token.grpc.pb.h"

namespace tessera::bench {
namespace {

namespace v1 = ::tessera::v1;

// Answers with a canned active introspection (the size of a real one), doing nothing else.
class EchoService final : public Echo::Service {
 public:
  explicit EchoService(v1::IntrospectResponse answer) : answer_(std::move(answer)) {}
  grpc::Status Echo(grpc::ServerContext*, const v1::IntrospectRequest*,
                    v1::IntrospectResponse* response) override {
    *response = answer_;
    return grpc::Status::OK;
  }

 private:
  const v1::IntrospectResponse answer_;
};

void Fail(const std::string& what) {
  std::fprintf(stderr, "tessera_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Row {
  std::string workload;
  int outstanding;
  LoadResult result;
};

class Bench {
 public:
  Bench(std::shared_ptr<grpc::Channel> channel, absl::Duration seconds)
      : tokens_(v1::TokenService::NewStub(channel)),
        admin_(v1::AdminService::NewStub(channel)),
        echo_(Echo::NewStub(channel)),
        seconds_(seconds) {}

  // Logs the admin in and makes the service token the workloads use.
  void Prepare(const std::string& admin_password) {
    v1::IssueTokenRequest login;
    login.mutable_password()->set_org_slug("bench");
    login.mutable_password()->set_username("admin");
    login.mutable_password()->set_password(admin_password);
    v1::IssueTokenResponse issued;
    grpc::ClientContext ctx;
    if (!tokens_->IssueToken(&ctx, login, &issued).ok()) Fail("admin login failed");
    caller_ = issued.access_token();
    v1::CreateApiKeyRequest key;
    key.set_name("bench");
    key.set_kind(v1::API_KEY_KIND_SERVICE_TOKEN);
    v1::CreateApiKeyResponse created;
    grpc::ClientContext kctx;
    kctx.AddMetadata("authorization", "Bearer " + caller_);
    if (!admin_->CreateApiKey(&kctx, key, &created).ok()) Fail("CreateApiKey failed");
    service_token_ = created.key();
    service_secret_ = created.secret();

    // A user with a role, and a user API token of theirs.
    v1::CreateRoleRequest role;
    role.set_name("reader");
    role.add_scopes("read:things");
    v1::CreateRoleResponse role_resp;
    grpc::ClientContext rctx;
    rctx.AddMetadata("authorization", "Bearer " + caller_);
    if (!admin_->CreateRole(&rctx, role, &role_resp).ok()) Fail("CreateRole failed");
    v1::CreateAccountRequest user;
    user.set_kind(v1::ACCOUNT_KIND_USER);
    user.set_username("reader");
    user.set_password("reader-password-1");
    user.add_roles("reader");
    v1::CreateAccountResponse user_resp;
    grpc::ClientContext uctx;
    uctx.AddMetadata("authorization", "Bearer " + caller_);
    if (!admin_->CreateAccount(&uctx, user, &user_resp).ok()) Fail("CreateAccount failed");
    v1::CreateApiKeyRequest user_key;
    user_key.set_name("reader-key");
    user_key.set_kind(v1::API_KEY_KIND_USER_TOKEN);
    user_key.set_account_id(user_resp.account().id());
    v1::CreateApiKeyResponse user_key_resp;
    grpc::ClientContext ukctx;
    ukctx.AddMetadata("authorization", "Bearer " + caller_);
    if (!admin_->CreateApiKey(&ukctx, user_key, &user_key_resp).ok()) {
      Fail("CreateApiKey (user token) failed");
    }
    user_api_key_ = user_key_resp.key();
  }

  // Introspect of a user API token, or of the service token with its secret.
  LoadResult IntrospectKey(bool service, int outstanding) {
    return Measure(service ? "Introspect, service token" : "Introspect, user API token",
                   outstanding, [&, service](uint64_t, auto done) {
                     StartIntrospect(service ? service_token_ : user_api_key_, done,
                                     service ? service_secret_ : "");
                   });
  }

  const std::string& caller() const { return caller_; }

  // IssueToken with the service token; every token issued joins the introspection pool.
  LoadResult IssueServiceTokens(int outstanding) {
    return Measure("IssueToken (service token)", outstanding, [&](uint64_t, auto done) {
      auto call = std::make_shared<Call<v1::IssueTokenRequest, v1::IssueTokenResponse>>();
      call->req.mutable_service_token()->set_token(service_token_);
      call->req.mutable_service_token()->set_secret(service_secret_);
      tokens_->async()->IssueToken(&call->ctx, &call->req, &call->resp,
                                   [this, call, done](grpc::Status s) {
                                     if (s.ok()) Keep(call->resp.access_token());
                                     done(s.ok());
                                   });
    });
  }

  LoadResult EchoLoad(int outstanding) {
    return Measure("echo baseline", outstanding, [&](uint64_t i, auto done) {
      auto call = std::make_shared<Call<v1::IntrospectRequest, v1::IntrospectResponse>>();
      call->ctx.AddMetadata("authorization", "Bearer " + caller_);
      call->req.set_token(pool_[i % kCachedTokens]);
      echo_->async()->Echo(&call->ctx, &call->req, &call->resp,
                           [call, done](grpc::Status s) { done(s.ok()); });
    });
  }

  // Introspect of tokens already verified once (the cached path).
  LoadResult IntrospectCached(int outstanding) {
    return IntrospectLoad("Introspect, cached token", outstanding, 0, LoadOptions{});
  }

  // Introspect of tokens this replica has never seen: each call verifies a signature.
  LoadResult IntrospectFirstSeen(int outstanding, size_t first, uint64_t count) {
    return IntrospectLoad("Introspect, first-seen token", outstanding, first,
                          LoadOptions{.warmup = absl::ZeroDuration(), .max_calls = count});
  }

  size_t pool_size() {
    absl::MutexLock lock(&mu_);
    return pool_.size();
  }
  // Introspects the first kCachedTokens once so that they are cached.
  void WarmCache() {
    LoadOptions once{.outstanding = 16, .warmup = absl::ZeroDuration(), .max_calls = kCachedTokens};
    RunLoad(once, [&](uint64_t i, auto done) { StartIntrospect(pool_[i % kCachedTokens], done); });
  }

  void Print() const {
    std::map<int, LoadResult> echo;
    for (const Row& r : rows_) {
      if (r.workload == "echo baseline") echo[r.outstanding] = r.result;
    }
    std::printf(
        "| workload | outstanding | req/s | × echo | p50 ms | p90 ms | p99 ms | p99 × echo |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& r : rows_) {
      const LoadResult& e = echo[r.outstanding];
      double ratio = e.rate > 0 ? r.result.rate / e.rate : 0;
      double p99_ratio = e.p99_us > 0 ? r.result.p99_us / e.p99_us : 0;
      std::printf("| %s | %d | %.0f | %.2f | %.3f | %.3f | %.3f | %.2f |%s\n", r.workload.c_str(),
                  r.outstanding, r.result.rate, ratio, r.result.p50_us / 1000,
                  r.result.p90_us / 1000, r.result.p99_us / 1000, p99_ratio,
                  r.result.errors ? absl::StrFormat(" %d errors", r.result.errors).c_str() : "");
    }
  }

  static constexpr uint64_t kCachedTokens = 1000;
  static constexpr uint64_t kSliceGap = 200;

 private:
  template <typename Req, typename Resp>
  struct Call {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };

  LoadResult Measure(const std::string& name, int outstanding, const StartCall& start,
                     LoadOptions options = {}) {
    options.outstanding = outstanding;
    if (options.max_calls == 0) options.duration = seconds_;
    LoadResult r = RunLoad(options, start);
    rows_.push_back(Row{name, outstanding, r});
    std::fprintf(stderr, "  %-30s %2d outstanding: %8.0f req/s, p99 %.3f ms\n", name.c_str(),
                 outstanding, r.rate, r.p99_us / 1000);
    return r;
  }

  LoadResult IntrospectLoad(const std::string& name, int outstanding, size_t first,
                            LoadOptions options) {
    return Measure(
        name, outstanding,
        [&, first](uint64_t i, auto done) {
          // A first-seen run reads its own slice; the few calls in flight past its count spill
          // into the gap before the next slice (kSliceGap), never into it.
          const std::string& token = first == 0 ? pool_[i % kCachedTokens] : pool_[first + i];
          StartIntrospect(token, done);
        },
        options);
  }

  void StartIntrospect(const std::string& token, std::function<void(bool)> done,
                       const std::string& secret = "") {
    auto call = std::make_shared<Call<v1::IntrospectRequest, v1::IntrospectResponse>>();
    call->ctx.AddMetadata("authorization", "Bearer " + caller_);
    call->req.set_token(token);
    if (!secret.empty()) call->req.set_secret(secret);
    tokens_->async()->Introspect(&call->ctx, &call->req, &call->resp, [call, done](grpc::Status s) {
      done(s.ok() && call->resp.active());
    });
  }

  void Keep(const std::string& token) {
    absl::MutexLock lock(&mu_);
    pool_.push_back(token);
  }

  std::unique_ptr<v1::TokenService::Stub> tokens_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<Echo::Stub> echo_;
  absl::Duration seconds_;
  std::string caller_, service_token_, service_secret_, user_api_key_;
  absl::Mutex mu_;
  std::vector<std::string> pool_;  // issued access tokens; only appended to while issuing
  std::vector<Row> rows_;
};

int Main(int argc, char** argv) {
  int seconds = 4;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0 && absl::SimpleAtoi(a.substr(10), &seconds)) continue;
    Fail("usage: tessera_bench [--seconds=N]");
  }
  const char* url = std::getenv("TESSERA_DATABASE_URL");
  if (url == nullptr) Fail("TESSERA_DATABASE_URL is not set");

  Config config;
  config.database_url = url;
  config.grpc_listen = "127.0.0.1:0";
  config.http_listen = "127.0.0.1:0";
  config.issuer = "tessera";
  config.access_token_ttl = absl::Seconds(900);
  config.refresh_token_ttl = absl::Hours(24);
  config.key_encryption_key = RandomBytes(32);
  config.pepper = RandomBytes(32);
  config.password_threads = 2;
  config.health_interval = absl::Seconds(1);
  config.shutdown_grace = absl::Seconds(1);
  config.startup_timeout = absl::Seconds(30);
  // One JSON line per RPC is an operator's choice; the table measures the service without it.
  config.log_level = LogLevel::kWarning;
  SetLogLevel(config.log_level);

  RealClock clock;
  auto boot = RunBootstrap(config, clock, "bench", "Bench", "admin");
  if (!boot.ok()) Fail(std::string(boot.status().message()));
  v1::IntrospectResponse canned;
  canned.set_active(true);
  canned.set_sub(boot->account_id);
  canned.set_org_id(boot->org_id);
  canned.add_scopes("admin");
  canned.set_client_id(boot->account_id);
  canned.set_username("admin");
  canned.set_token_type("Bearer");
  canned.set_exp(1'800'000'900);
  canned.set_iat(1'800'000'000);
  canned.set_nbf(1'800'000'000);
  canned.set_jti(std::string(32, 'a'));
  canned.set_iss("tessera");
  canned.add_aud("tessera");
  EchoService echo(canned);
  ServerApp app(config, clock);
  app.AddService(&echo);
  if (auto s = app.Start(); !s.ok()) Fail(std::string(s.message()));

  grpc::ChannelArguments args;
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(app.grpc_port()),
                                           grpc::InsecureChannelCredentials(), args);
  Bench bench(channel, absl::Seconds(seconds));
  bench.Prepare(boot->password);

  const int kOutstanding[] = {1, 16, 64};
  std::fprintf(stderr, "tessera_bench: %d s per run after 1 s of warm-up\n", seconds);
  for (int n : kOutstanding) bench.IssueServiceTokens(n);
  // First-seen runs need 10,000 fresh tokens each, beyond the cached ones.
  constexpr uint64_t kFirstSeen = 10000;
  if (bench.pool_size() < Bench::kCachedTokens + 3 * (kFirstSeen + Bench::kSliceGap)) {
    Fail("too few tokens issued for the first-seen runs");
  }
  bench.WarmCache();
  for (int n : kOutstanding) bench.EchoLoad(n);
  for (int n : kOutstanding) bench.IntrospectCached(n);
  for (int n : kOutstanding) bench.IntrospectKey(/*service=*/false, n);
  for (int n : kOutstanding) bench.IntrospectKey(/*service=*/true, n);
  size_t next = Bench::kCachedTokens;
  for (int n : kOutstanding) {
    bench.IntrospectFirstSeen(n, next, kFirstSeen);
    next += kFirstSeen + Bench::kSliceGap;
  }
  bench.Print();
  app.Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace tessera::bench

int main(int argc, char** argv) { return tessera::bench::Main(argc, argv); }
