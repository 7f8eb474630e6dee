// tessera_bench: the whole service in this process (ServerApp on a real PostgreSQL, as served in
// production) plus an echo service on the same gRPC server, driven over loopback by the callback
// gRPC client, and an echo route on the same OAuth HTTP server, driven by wrk (http_load.h).
// Prints the Markdown sections of BENCHMARKS.md (see report.h).
//
//   TESSERA_DATABASE_URL=... tessera_bench [--seconds=4]   every workload at 1, 16 and 64
//   TESSERA_DATABASE_URL=... tessera_bench --memory        RSS with revocations and cached tokens
//   TESSERA_DATABASE_URL=... tessera_bench --only=NAME     one workload at 64 outstanding, for a
//                                                          profiler (cached, check, issue,
//                                                          first-seen), or the HTTP rows at
//                                                          1, 16, 64 (http), the targets
//                                                          checked on alternating pairs (pairs),
//                                                          Refresh or Revoke against its raw
//                                                          bound at 1, 16, 64 (refresh, revoke),
//                                                          the signature costs (signatures),
//                                                          or revocation propagation between
//                                                          two replicas (propagation)
//   ... --results=FILE                                     also every measured row as TSV, for
//                                                          bench/results.py
// scripts/bench does all of this against an embedded PostgreSQL.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "bench/echo.grpc.pb.h"
#include "bench/http_load.h"
#include "bench/load.h"
#include "bench/memory.h"
#include "bench/propagation.h"
#include "bench/raw.h"
#include "bench/report.h"
#include "bench/targets.h"
#include "bench/workloads.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/log.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "services/auth_snapshot.h"

namespace tessera::bench {
namespace {

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

// The same on gRPC's callback API, answered on the reactor thread.
class CallbackEchoService final : public CallbackEcho::CallbackService {
 public:
  explicit CallbackEchoService(v1::IntrospectResponse answer) : answer_(std::move(answer)) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const v1::IntrospectRequest*,
                                 v1::IntrospectResponse* response) override {
    *response = answer_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const v1::IntrospectResponse answer_;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "tessera_bench: %s\n", what.c_str());
  std::exit(1);
}

void Progress(const std::string& name, int outstanding, const LoadResult& r) {
  std::fprintf(stderr, "  %-34s %2d: %8.0f/s, p99 %.3f ms%s\n", name.c_str(), outstanding, r.rate,
               r.p99_us / 1000, r.errors ? absl::StrFormat(", %d errors", r.errors).c_str() : "");
}

constexpr uint64_t kFirstSeen = 10000;
constexpr uint64_t kSliceGap = 200;
// Password logins kept outstanding beside a mixed workload: the pool's threads busy, its queue
// never empty.
constexpr int kLoginsBeside = 16;  // tokens between first-seen slices (see IntrospectFirstSeen)

struct Flags {
  int seconds = 4;
  bool memory = false;
  std::string only;
  std::string results;  // where to write every measured row as TSV ("": nowhere)
};

Config BenchConfig(const std::string& url) {
  Config config = DefaultConfig();
  config.database_url = url;
  config.grpc_listen = "127.0.0.1:0";
  config.http_listen = "127.0.0.1:0";
  // Plaintext like the oidc-provider peer's runs, so the two compare.
  config.oauth_listen = "127.0.0.1:0";
  config.oauth_plaintext = true;
  config.issuer = "tessera";
  config.access_token_ttl = absl::Seconds(900);
  config.refresh_token_ttl = absl::Hours(24);
  // Fixed, so that the memory run (a second process) can read the signing key the first one
  // sealed in the same database. A benchmark's throwaway key, never a deployment's.
  config.key_encryption_key = std::string(32, 'k');
  config.pepper = std::string(32, 'p');
  config.password_threads = 2;  // the default on this 2-core machine (one per core)
  config.health_interval = absl::Seconds(1);
  config.shutdown_grace = absl::Seconds(1);
  config.startup_timeout = absl::Seconds(30);
  // One JSON line per RPC is an operator's choice; the table measures the service without it.
  config.log_level = LogLevel::kWarning;
  return config;
}

// Issues service tokens until the pool holds at least `needed` past index `from`.
void TopUpPool(Workloads& w, size_t from, uint64_t needed) {
  size_t size = w.pool_size();
  uint64_t have = size > from ? size - from : 0;
  if (have >= needed) return;
  LoadResult r = w.IssueServiceTokens(64, needed - have);
  std::fprintf(stderr, "  (pool topped up by %llu tokens at %.0f/s)\n",
               static_cast<unsigned long long>(r.calls), r.rate);
}

// Refresh at `n` outstanding, then the raw rate of its own transaction on as many connections
// as the service may use, and their row.
// Password logins against Argon2id itself on as many threads as can hash at once: one call
// outstanding keeps one thread busy; more keep all of the pool's threads busy.
void PasswordAgainstRaw(const Config& config, Workloads& w, const LoadOptions& options,
                        Report& report) {
  auto raw_argon2 = [&](Argon2Library library, int threads) {
    LoadResult r = RawArgon2idRate(library, {}, threads, options);
    Progress(library == Argon2Library::kLibsodium ? "raw Argon2id, libsodium"
                                                  : "raw Argon2id, libargon2",
             threads, r);
    return r;
  };
  const int pool_threads = config.password_threads;
  LoadResult sodium_one = raw_argon2(Argon2Library::kLibsodium, 1);
  LoadResult sodium_all = raw_argon2(Argon2Library::kLibsodium, pool_threads);
  LoadResult argon2_all = raw_argon2(Argon2Library::kLibargon2, pool_threads);
  auto threads_label = [](int t) {
    return absl::StrFormat("raw Argon2id (libsodium), %d thread%s", t, t == 1 ? "" : "s");
  };
  for (int n : kOutstanding) {
    LoadResult r = w.PasswordLogins(n);
    Progress("IssueToken (password)", n, r);
    int busy = std::min(n, pool_threads);
    report.AddBound("IssueToken (password)", n, r, threads_label(busy),
                    busy == 1 ? sodium_one : sodium_all);
  }
  report.AddBound("raw Argon2id, Debian's libargon2", pool_threads, argon2_all,
                  threads_label(pool_threads), sodium_all);
}

void RefreshAgainstRaw(const Config& config, Workloads& w, const BootstrapResult& boot,
                       const LoadOptions& options, int n, Report& report) {
  LoadResult r = w.Refresh(n);
  Progress("Refresh", n, r);
  int connections = std::min(n, config.db_pool_size);
  LoadResult raw = RawRefreshTransactionRate(config.database_url, boot.org_id, boot.account_id,
                                             connections, options);
  Progress("raw Refresh transaction", connections, raw);
  report.AddBound(
      "Refresh", n, r,
      absl::StrFormat("raw transaction, %d connection%s", connections, connections == 1 ? "" : "s"),
      raw);
}

// Revoke at `n` outstanding, then the raw rate of one commit per revocation on as many
// connections as the service may use, and their row. `ceiling` is the fastest a Revoke can be
// expected to run (0: unknown), which sizes the pool of unrevoked tokens it needs.
void RevokeAgainstRaw(const Config& config, Workloads& w, const BootstrapResult& boot,
                      const LoadOptions& options, int n, double ceiling, Report& report) {
  if (ceiling <= 0) ceiling = 8000;
  double seconds = absl::ToDoubleSeconds(w.options().warmup + w.options().duration);
  TopUpPool(w, w.revoke_cursor(), static_cast<uint64_t>(1.5 * ceiling * seconds) + 64);
  LoadResult r = w.Revoke(n);
  Progress("Revoke (access token)", n, r);
  int connections = std::min(n, config.db_pool_size);
  LoadResult raw =
      RawRevokeCommitRate(config.database_url, boot.org_id, boot.account_id, connections, options);
  Progress("raw revocation commit", connections, raw);
  report.AddBound("Revoke (access token)", n, r,
                  absl::StrFormat("raw commit, one revocation per transaction, %d connection%s",
                                  connections, connections == 1 ? "" : "s"),
                  raw);
}

// Every gRPC workload, the raw rates beside the bound ones, and the targets.
void Throughput(const Config& config, Workloads& w, const BootstrapResult& boot,
                const LoadOptions& options, Report& report) {
  auto run = [&](const std::string& name, int n, LoadResult r) {
    Progress(name, n, r);
    report.Add(name, n, r);
    return r;
  };
  for (int n : kOutstanding) run("IssueToken (service token)", n, w.IssueServiceTokens(n));
  TopUpPool(w, 0, Workloads::kCachedTokens + 3 * (kFirstSeen + kSliceGap));
  w.WarmCache();
  for (int n : kOutstanding) run("echo baseline", n, w.Echo(n));
  for (int n : kOutstanding) run("echo, callback API", n, w.CallbackEcho(n));
  for (int n : kOutstanding) run("Introspect, cached token", n, w.IntrospectCached(n));
  for (int n : kOutstanding) run("Check (Envoy ext_authz), cached token", n, w.CheckCached(n));
  for (int n : kOutstanding) run("Introspect, user API token", n, w.IntrospectKey(false, n));
  for (int n : kOutstanding) run("Introspect, service token", n, w.IntrospectKey(true, n));
  size_t next = Workloads::kCachedTokens;
  for (int n : kOutstanding) {
    run("Introspect, first-seen token", n, w.IntrospectFirstSeen(n, next, kFirstSeen));
    next += kFirstSeen + kSliceGap;
  }
  w.SetRevokeCursor(next);

  PasswordAgainstRaw(config, w, options, report);

  for (int n : kOutstanding) RefreshAgainstRaw(config, w, boot, options, n, report);

  // Revoke against one commit per revocation on as many connections as the service may use. A
  // Revoke verifies a token never seen before, so it runs no faster than first-seen Introspect.
  for (int n : kOutstanding) {
    const LoadResult* first_seen = report.Find("Introspect, first-seen token", n);
    RevokeAgainstRaw(config, w, boot, options, n, first_seen ? first_seen->rate : 0, report);
  }
  TopUpPool(w, w.revoke_cursor(), 5000);  // the mixed workloads revoke 1 call in 200

  for (int n : kOutstanding) {
    LoadResult r = w.Mixed(n);
    Progress("mixed", n, r);
    report.AddMixed("mixed", n, r, nullptr);
  }
  // The same beside password logins that keep the pool's threads busy and its queue full.
  for (int n : kOutstanding) {
    LoadResult logins;
    std::thread beside([&] { logins = w.PasswordLogins(kLoginsBeside); });
    LoadResult r = w.Mixed(n);
    beside.join();
    Progress("mixed, with logins", n, r);
    Progress("  logins beside it", kLoginsBeside, logins);
    report.AddMixed("mixed, with logins", n, r, &logins);
  }
  report.SetSignatureCosts(MeasureSignatureCosts(absl::Milliseconds(500)));
}

// OAuth introspection over HTTP beside the HTTP echo route, as the peer is measured: wrk, form
// bodies round-robin over 64 cached tokens, every answer judged active.
void HttpThroughput(const ServerApp& app, Workloads& w, const LoadOptions& options,
                    Report& report) {
  std::vector<std::string> bodies;
  for (const std::string& t : w.PoolTokens(0, 64)) {
    bodies.push_back("token=" + t + "&token_type_hint=access_token");
  }
  HttpTarget echo{
      .port = app.oauth_port(),
      .path = "/bench/echo",
      .authorization = "Basic " + absl::Base64Escape(w.service_token() + ":" + w.service_secret()),
      .bodies = bodies,
      .must_contain = "\"active\":true"};
  HttpTarget basic = echo;
  basic.path = "/oauth2/introspect";
  HttpTarget bearer = basic;
  bearer.authorization = "Bearer " + w.caller();
  auto run = [&](const std::string& name, const HttpTarget& target) {
    for (int n : kOutstanding) {
      LoadResult r = RunWrk(target, n, options);
      Progress(name, n, r);
      report.AddHttp(name, n, r);
    }
  };
  run("HTTP echo route", echo);
  run("HTTP introspect, cached, Basic client", basic);
  run("HTTP introspect, cached, Bearer caller", bearer);
}

void Memory(const Config& config, ServerApp& app, Workloads& w, const BootstrapResult& boot,
            Report& report) {
  constexpr uint64_t kCached = 100'000;
  constexpr int kRevoked = 1'000'000;
  auto mib = [](size_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
  size_t started = HeldRssBytes();
  report.AddMemory("started, bootstrapped, logged in", mib(started), "–");

  LoadResult issued = w.IssueServiceTokens(64, kCached);
  Progress("IssueToken (service token)", 64, issued);
  size_t with_pool = HeldRssBytes();  // the client's own copy of the tokens
  w.IntrospectOnce(0, kCached);
  size_t cached = HeldRssBytes();
  w.ClearPool();
  size_t after_pool = HeldRssBytes();
  double per_token = static_cast<double>(cached - with_pool) / kCached;
  report.AddMemory(absl::StrFormat("+ %d access tokens verified and cached", kCached),
                   mib(after_pool), absl::StrFormat("%.0f bytes per token", per_token));

  if (auto s = InsertRevokedJtis(config.database_url, boot.org_id, kRevoked); !s.ok()) {
    Fail("inserting revocations: " + std::string(s.message()));
  }
  size_t before = HeldRssBytes();
  if (auto s = app.snapshot().Resync(); !s.ok()) Fail("resync: " + std::string(s.message()));
  size_t revoked = HeldRssBytes();
  AuthSnapshot::Sizes sizes = app.snapshot().sizes();
  double per_jti =
      static_cast<double>(revoked - before) / static_cast<double>(sizes.revoked_tokens);
  report.AddMemory(absl::StrFormat("+ %d revoked jtis in the snapshot", sizes.revoked_tokens),
                   mib(revoked), absl::StrFormat("%.0f bytes per jti", per_jti));
  report.AddTarget("RSS: ≤ 150 bytes per revoked jti held", absl::StrFormat("%.0f bytes", per_jti),
                   per_jti <= 150);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0 && absl::SimpleAtoi(a.substr(10), &f.seconds)) continue;
    if (a == "--memory") {
      f.memory = true;
      continue;
    }
    if (a.rfind("--results=", 0) == 0) {
      f.results = a.substr(10);
      continue;
    }
    if (a.rfind("--only=", 0) == 0) {
      f.only = a.substr(7);
      continue;
    }
    Fail(
        "usage: tessera_bench [--seconds=N] [--memory] "
        "[--only=cached|check|issue|first-seen|http|pairs|refresh|revoke|signatures|"
        "propagation] [--results=FILE]");
  }
  return f;
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  const char* url = std::getenv("TESSERA_DATABASE_URL");
  if (url == nullptr) Fail("TESSERA_DATABASE_URL is not set");
  Config config = BenchConfig(url);
  SetLogLevel(config.log_level);

  RealClock clock;
  // Each mode has an organization of its own, so that runs can share a database.
  std::string slug = flags.memory ? "memory" : flags.only.empty() ? "bench" : "profile";
  auto boot = RunBootstrap(config, clock, slug, "Bench", "admin");
  if (!boot.ok()) Fail(std::string(boot.status().message()));
  if (!boot->created) Fail("organization " + slug + " exists already: use a fresh database");
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
  CallbackEchoService callback_echo(canned);
  ServerApp app(config, clock);
  app.AddService(&echo);
  app.AddService(&callback_echo);
  // The HTTP echo: the same introspection answer, canned, as JSON.
  std::string canned_json = absl::StrFormat(
      R"({"active":true,"aud":"tessera","client_id":"%s","exp":1800000900,"iat":1800000000,)"
      R"("iss":"tessera","jti":"%s","nbf":1800000000,"org_id":"%s","scope":"admin",)"
      R"("sub":"%s","token_type":"Bearer","username":"admin"})",
      boot->account_id, std::string(32, 'a'), boot->org_id, boot->account_id);
  app.AddOAuthRoute("POST", "/bench/echo", "echo",
                    [canned_json](const httplib::Request&, httplib::Response& res, HttpNote&) {
                      res.set_header("Cache-Control", "no-store");
                      res.set_content(canned_json, "application/json");
                    });
  if (auto s = app.Start(); !s.ok()) Fail(std::string(s.message()));

  grpc::ChannelArguments args;
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(app.grpc_port()),
                                           grpc::InsecureChannelCredentials(), args);
  LoadOptions options{.warmup = absl::Seconds(1), .duration = absl::Seconds(flags.seconds)};
  Workloads w(channel, options);
  if (std::string error = w.Prepare(slug, boot->password); !error.empty()) Fail(error);

  Report report;
  auto propagation = [&] {
    std::string e = MeasurePropagation(config, clock, app, slug, boot->password, 200, report);
    if (!e.empty()) Fail("propagation: " + e);
  };
  if (flags.only == "signatures") {
    report.SetSignatureCosts(MeasureSignatureCosts(absl::Milliseconds(500)));
  } else if (flags.only == "propagation") {
    propagation();
  } else if (flags.memory) {
    Memory(config, app, w, *boot, report);
  } else if (flags.only == "password") {
    std::fprintf(stderr, "tessera_bench: password logins and raw Argon2id for %d s each\n",
                 flags.seconds);
    PasswordAgainstRaw(config, w, options, report);
  } else if (flags.only == "refresh" || flags.only == "revoke") {
    std::fprintf(stderr, "tessera_bench: %s and its raw bound at 1, 16 and 64 for %d s each\n",
                 flags.only.c_str(), flags.seconds);
    if (flags.only == "refresh") {
      for (int n : kOutstanding) RefreshAgainstRaw(config, w, *boot, options, n, report);
      CheckRefreshTargets(report);
    } else {
      // The issuance rate stands in for first-seen Introspect's as the pool's sizing ceiling.
      LoadResult issued = w.IssueServiceTokens(64, 10000);
      for (int n : kOutstanding)
        RevokeAgainstRaw(config, w, *boot, options, n, issued.rate, report);
      CheckRevokeTargets(report);
    }
  } else if (!flags.only.empty()) {
    w.IssueServiceTokens(64, Workloads::kCachedTokens + 60000);
    w.WarmCache();
    std::fprintf(stderr, "tessera_bench: %s at 64 outstanding for %d s\n", flags.only.c_str(),
                 flags.seconds);
    if (flags.only == "cached") {
      Progress(flags.only, 64, w.IntrospectCached(64));
    } else if (flags.only == "check") {
      Progress(flags.only, 64, w.CheckCached(64));
    } else if (flags.only == "issue") {
      Progress(flags.only, 64, w.IssueServiceTokens(64));
    } else if (flags.only == "http") {
      HttpThroughput(app, w, options, report);
      CheckHttpTargets(report);
    } else if (flags.only == "pairs") {
      CheckPairedTargets(w, report);
    } else if (flags.only == "first-seen") {
      Progress(flags.only, 64, w.IntrospectFirstSeen(64, Workloads::kCachedTokens, 60000));
    } else {
      Fail("--only: cached, check, issue, first-seen, http, pairs, password, refresh or revoke");
    }
  } else {
    std::fprintf(stderr, "tessera_bench: %d s per run after 1 s of warm-up\n", flags.seconds);
    Throughput(config, w, *boot, options, report);
    HttpThroughput(app, w, options, report);
    CheckTargets(report);
    CheckHttpTargets(report);
    CheckPairedTargets(w, report);
    propagation();
  }
  std::fputs(report.Markdown().c_str(), stdout);
  if (!flags.results.empty()) {
    FILE* f = std::fopen(flags.results.c_str(), "w");
    if (f == nullptr) Fail("cannot write " + flags.results);
    std::fputs(report.Tsv().c_str(), f);
    std::fclose(f);
  }
  app.Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace tessera::bench

int main(int argc, char** argv) { return tessera::bench::Main(argc, argv); }
