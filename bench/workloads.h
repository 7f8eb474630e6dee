// Workloads: each of tessera's RPCs driven through a real gRPC channel by the load generator,
// plus the echo baseline. A Workloads object logs in once, makes the credentials every workload
// needs, and keeps what the workloads produce for the ones after them: the access tokens issued
// (the introspection and revocation pools) and the refresh tokens of password logins (each
// Refresh spends one and yields the next).
#ifndef TESSERA_BENCH_WORKLOADS_H_
#define TESSERA_BENCH_WORKLOADS_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/echo.grpc.pb.h"
#include "bench/load.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "tessera/v1/admin.grpc.pb.h"
#include "tessera/v1/token.grpc.pb.h"

namespace tessera::bench {

// The kinds of call of a mixed workload, in LoadResult::kinds order.
enum MixedKind { kMixedIntrospect = 0, kMixedIssue, kMixedRevoke, kMixedRefresh, kMixedKinds };

class Workloads {
 public:
  Workloads(std::shared_ptr<grpc::Channel> channel, LoadOptions options);

  // Logs the bootstrap admin in; makes a service token, and kUsers users with a role and a
  // password, the last of them with a user API token. Returns an error message, or "" on success.
  std::string Prepare(const std::string& org_slug, const std::string& admin_password);

  LoadResult Echo(int outstanding);
  // The same echo on the callback API (CallbackEcho).
  LoadResult CallbackEcho(int outstanding);
  // IssueToken with the service token; every token issued joins the pool.
  LoadResult IssueServiceTokens(int outstanding, uint64_t max_calls = 0);
  // IssueToken with the user's password; every refresh token issued joins the refresh queue.
  LoadResult PasswordLogins(int outstanding);
  // Refresh: each call spends a refresh token from the queue and puts its child back.
  LoadResult Refresh(int outstanding);
  // Introspect of the first kCachedTokens of the pool, verified once already (WarmCache).
  LoadResult IntrospectCached(int outstanding);
  // Introspect of `count` pool tokens from `first` on, never seen before: a signature each.
  LoadResult IntrospectFirstSeen(int outstanding, size_t first, uint64_t count);
  // Envoy's Check of a request carrying one of the first kCachedTokens of the pool, shaped as
  // Envoy sends it (pseudo-headers and the usual ones, the client's address and principal, a
  // route requiring one scope), by a proxy holding the admin's token.
  LoadResult CheckCached(int outstanding);
  // Introspect of the user API token, or of the service token with its secret.
  LoadResult IntrospectKey(bool service, int outstanding);
  // Revoke of access tokens of the pool, each once, from the revocation cursor on.
  LoadResult Revoke(int outstanding);
  // 95% Introspect (cached), 4% IssueToken (service token), 1% Revoke and Refresh in turn.
  LoadResult Mixed(int outstanding);

  // Introspects the first kCachedTokens of the pool once, so that they are cached.
  void WarmCache();
  // Introspects pool tokens [first, first + count) once each, with 64 outstanding.
  void IntrospectOnce(size_t first, uint64_t count);
  // Logs in until the refresh queue holds at least `n` tokens.
  void FillRefreshQueue(size_t n);
  // Where revocations start taking pool tokens (past those the introspection runs use).
  void SetRevokeCursor(size_t first) { revoke_next_.store(first); }
  size_t revoke_cursor() const { return revoke_next_.load(); }
  // The warm-up and duration of the timed workloads from now on.
  void set_options(const LoadOptions& options) { options_ = options; }
  const LoadOptions& options() const { return options_; }
  size_t pool_size();
  void ClearPool();
  // For the HTTP workloads: the admin's access token, the service token and its secret, and
  // pool tokens [first, first + count).
  const std::string& caller() const { return caller_; }
  const std::string& service_token() const { return service_token_; }
  const std::string& service_secret() const { return service_secret_; }
  std::vector<std::string> PoolTokens(size_t first, size_t count);

  static constexpr uint64_t kCachedTokens = 1000;
  static constexpr int kUsers = 100;  // password logins take them in turn

 private:
  template <typename Req, typename Resp>
  struct Call {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };
  using Done = std::function<void(bool)>;

  LoadResult Run(int outstanding, const StartCall& start, LoadOptions options);
  template <typename Stub>
  LoadResult EchoOn(Stub& stub, int outstanding);
  void StartIntrospect(const std::string& token, Done done, const std::string& secret = "");
  void StartIssueService(Done done);
  void StartPasswordLogin(Done done);
  void StartRefresh(Done done);
  void StartRevoke(Done done);
  void StartCheck(const std::string& token, Done done);
  void Authorize(grpc::ClientContext& ctx) const;
  static std::string UserName(int u);
  void Keep(const std::string& token);
  void KeepRefresh(const std::string& token);
  const std::string& PoolToken(size_t i);

  std::unique_ptr<v1::TokenService::Stub> tokens_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<Echo::Stub> echo_;
  std::unique_ptr<tessera::bench::CallbackEcho::Stub> callback_echo_;
  std::unique_ptr<envoy::service::auth::v3::Authorization::Stub> authz_;
  LoadOptions options_;
  std::string org_slug_, caller_, service_token_, service_secret_, user_api_key_;
  absl::Mutex mu_;
  // Issued access tokens. A deque: appending never moves the tokens other calls are reading.
  std::deque<std::string> pool_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> refresh_queue_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> revoke_next_{0};
  std::atomic<uint64_t> next_user_{0};
};

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_WORKLOADS_H_
