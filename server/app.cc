#include "server/app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/aead.h"
#include "core/key_ring.h"
#include "core/log.h"
#include "core/password_hasher.h"
#include "core/secret_digest.h"
#include "core/tls_files.h"
#include "core/tls_material.h"
#include "core/worker_pool.h"
#include "server/grpc/admin_service.h"
#include "server/grpc/call_notes.h"
#include "server/grpc/ext_authz_service.h"
#include "server/grpc/health_service.h"
#include "server/grpc/rpc_metrics.h"
#include "server/grpc/token_service.h"
#include "server/grpc/unreadable_request.h"
#include "server/http/http_metrics.h"
#include "server/http/oauth_edge.h"
#include "server/http/oauth_endpoints.h"
#include "server/http/side_port.h"
#include "server/metrics/exposition.h"
#include "server/metrics/latency_buckets.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/read_at_scrape.h"
#include "server/service_metrics.h"
#include "services/admin_logic.h"
#include "services/api_key_logic.h"
#include "services/auth_snapshot.h"
#include "services/credential_check.h"
#include "services/introspection_logic.h"
#include "services/key_manager.h"
#include "services/key_usage.h"
#include "services/login_guard.h"
#include "services/proxy_check_logic.h"
#include "services/revocation_logic.h"
#include "services/rotation_logic.h"
#include "services/session_logic.h"
#include "storage/migrator.h"
#include "storage/pg_change_feed.h"
#include "storage/pg_pool.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

constexpr int kMaxMessageBytes = 256 * 1024;
// Idle threads the synchronous gRPC server keeps (see BuildGrpc): about the calls a replica
// has in flight at once under load.
constexpr int kSyncServerIdleThreads = 128;

}  // namespace

ServerApp::ServerApp(Config config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      registry_(std::make_unique<prometheus::Registry>()),
      scrape_reads_(std::make_unique<ReadAtScrape>()),
      process_metrics_(std::make_unique<ProcessMetrics>()) {}

ServerApp::~ServerApp() { Shutdown(absl::ZeroDuration()); }

absl::Status ServerApp::Start() {
  InstallProtobufLogHandler();
  SetLogLevel(config_.log_level);
  // Each step builds on the objects of the ones before it, in dependency order.
  if (auto s = OpenDatabase(); !s.ok()) return s;
  if (auto s = LoadState(); !s.ok()) return s;
  BuildLogic();
  if (auto s = StartFaces(); !s.ok()) return s;
  health_thread_ = std::thread([this] { HealthLoop(); });
  maintenance_thread_ = std::thread([this] { MaintenanceLoop(); });
  Log(LogLevel::kInfo, "serving",
      {{"grpc_port", std::to_string(grpc_port_)},
       {"http_port", std::to_string(http_port_)},
       {"oauth_port", std::to_string(oauth_port_)},
       {"signing_alg", std::string(SigningAlgName(config_.signing_alg))}});
  return absl::OkStatus();
}

absl::Status ServerApp::OpenDatabase() {
  // The database may still be starting (a pod next to it, scripts/run): wait for it.
  absl::Time give_up = absl::Now() + config_.startup_timeout;
  absl::StatusOr<int> migrated;
  for (;;) {
    migrated = MigrateDatabase(config_.database_url);
    if (migrated.ok() || !absl::IsUnavailable(migrated.status()) || absl::Now() >= give_up) break;
    Log(LogLevel::kWarning, "database_wait", {{"error", std::string(migrated.status().message())}});
    absl::SleepFor(absl::Seconds(1));
  }
  if (!migrated.ok()) return migrated.status();
  database_up_ = true;
  Log(LogLevel::kInfo, "migrations_applied", {{"count", std::to_string(*migrated)}});
  pool_ = std::make_unique<PgPool>(
      PgPoolOptions{.url = config_.database_url, .max_connections = config_.db_pool_size});
  return absl::OkStatus();
}

absl::Status ServerApp::LoadState() {
  // In dependency order, with no cycle: the stores (which never call back into the snapshot;
  // the logic applies what a write committed), then the signing keys, then the snapshot, which
  // reloads the keys through the key manager when they change.
  stores_ = std::make_unique<Stores>(
      MakePgStores(*pool_, GroupCommitOptions{.max_batch = config_.group_commit_max_batch,
                                              .max_delay = config_.group_commit_max_delay,
                                              .writers = config_.group_commit_writers}));
  auto kek = Aead::Create(config_.key_encryption_key);
  if (!kek.ok()) return kek.status();
  kek_ = std::make_unique<Aead>(*std::move(kek));
  key_ring_ = std::make_unique<KeyRing>();
  key_manager_ = std::make_unique<KeyManager>(clock_, *kek_, *stores_->signing_keys, *key_ring_,
                                              config_.signing_alg);
  if (auto s = key_manager_->EnsureAndLoad(); !s.ok()) return s;
  snapshot_store_ = MakePgSnapshotStore(*pool_);
  snapshot_ = std::make_unique<AuthSnapshot>(
      clock_, *snapshot_store_,
      SnapshotOptions{.family_tail = config_.access_token_ttl + TokenOptions().leeway},
      [keys = key_manager_.get()] { return keys->Reload(); });
  prometheus::Histogram& lag =
      prometheus::BuildHistogram()
          .Name("tessera_change_feed_lag_seconds")
          .Help("Time from a change's commit on any replica to this replica applying it.")
          .Register(*registry_)
          .Add({}, LatencyBuckets());
  feed_ = std::make_unique<PgChangeFeed>(
      ChangeFeedOptions{
          .url = config_.database_url,
          // The clocks of two machines can disagree by a little: never below 0.
          .observe_lag =
              [&lag](absl::Duration d) { lag.Observe(std::max(0.0, absl::ToDoubleSeconds(d))); }},
      *snapshot_);
  feed_->Start();
  if (!feed_->WaitInSync(config_.startup_timeout)) {
    return absl::UnavailableError("could not load the introspection snapshot (see the log)");
  }
  return absl::OkStatus();
}

void ServerApp::BuildLogic() {
  digester_ = std::make_unique<SecretDigester>(config_.pepper);
  hasher_ = std::make_unique<PasswordHasher>(config_.argon2);
  // Nice 10: while logins are hashed, RPC threads still get the cores first, so a burst of
  // logins (or a password-guessing flood) cannot stretch introspection's tail latency.
  password_pool_ = std::make_unique<BoundedWorkerPool>(
      config_.password_threads, static_cast<size_t>(config_.password_queue), /*nice=*/10);
  key_usage_ = std::make_unique<KeyUsage>();
  ThrottlePolicy throttle{.max_failures = config_.login_max_failures,
                          .window = config_.login_failure_window,
                          .base_lockout = config_.login_lockout,
                          .max_lockout = config_.login_failure_window};
  ThrottlePolicy peer_throttle = throttle;
  peer_throttle.max_failures = config_.peer_max_failures;
  login_guard_ =
      std::make_unique<LoginGuard>(clock_, GuardOptions{.subject = throttle, .peer = peer_throttle},
                                   *stores_->throttle, *stores_->audit, snapshot_.get());
  TokenOptions topts{.issuer = config_.issuer,
                     .access_token_ttl = config_.access_token_ttl,
                     .refresh_token_ttl = config_.refresh_token_ttl,
                     .refresh_grace = config_.refresh_grace};
  checks_ = std::make_unique<CredentialCheck>(
      clock_, *key_ring_, VerifyOptions{.issuer = topts.issuer, .leeway = topts.leeway}, *digester_,
      *snapshot_, *key_usage_, *login_guard_);
  sessions_ = std::make_unique<SessionLogic>(
      clock_, topts, *key_ring_, *hasher_, *password_pool_, *digester_, *stores_->accounts,
      *stores_->refresh_tokens, *stores_->audit, *checks_, *login_guard_, *snapshot_);
  introspection_ = std::make_unique<IntrospectionLogic>(
      *checks_, IntrospectionPolicy{
                    .issuer = topts.issuer,
                    .by_client_certificate = config_.introspect_auth == Config::RelayAuth::kMtls});
  proxy_check_ = std::make_unique<ProxyCheckLogic>(
      *checks_, ProxyCheckOptions{.by_client_certificate =
                                      config_.ext_authz_auth == Config::RelayAuth::kMtls});
  api_key_logic_ = std::make_unique<ApiKeyLogic>(
      clock_,
      ApiKeyOptions{.user_token_prefix = config_.api_key_prefix,
                    .service_token_prefix = config_.service_token_prefix},
      *digester_, *stores_->api_keys, *snapshot_);
  revocation_ =
      std::make_unique<RevocationLogic>(clock_, topts.leeway, *digester_, *stores_->revocations,
                                        *snapshot_, *checks_, *api_key_logic_);
  rotation_logic_ = std::make_unique<RotationLogic>(
      clock_,
      RotationOptions{.publish_delay = config_.signing_key_publish_delay,
                      .verify_tail = config_.access_token_ttl + topts.leeway},
      *hasher_, *password_pool_, *stores_->accounts, *api_key_logic_, *key_manager_, *snapshot_);
  admin_logic_ = std::make_unique<AdminLogic>(clock_, *hasher_, *password_pool_, *stores_->orgs,
                                              *stores_->accounts, *stores_->roles, *stores_->audit,
                                              *snapshot_);
}

absl::Status ServerApp::StartFaces() {
  RegisterMetrics();
  grpc_edge_ = std::make_unique<GrpcEdge>(*checks_, *service_metrics_, *call_notes_,
                                          /*mutual_tls=*/!config_.tls_client_ca.empty());
  token_service_ = std::make_unique<TokenServiceImpl>(
      *grpc_edge_, *sessions_, *introspection_, *revocation_, *rotation_logic_, *key_manager_);
  admin_service_ = std::make_unique<AdminServiceImpl>(*grpc_edge_, *admin_logic_, *api_key_logic_);
  // A failed secret's count waits on PostgreSQL: a few threads, so that one slow write does not
  // hold the next.
  check_writes_ = std::make_unique<BoundedWorkerPool>(4, 1024);
  ext_authz_service_ = std::make_unique<ExtAuthzService>(
      *grpc_edge_, *proxy_check_, *check_writes_,
      ExtAuthzOptions{.header_prefix = config_.ext_authz_header_prefix,
                      .keep_credential = config_.ext_authz_keep_credential});
  health_ = std::make_unique<HealthService>();
  health_->SetServing(true);

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  auto credentials = ServerCredentials();
  if (!credentials.ok()) return credentials.status();
  builder.AddListeningPort(config_.grpc_listen, *credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // The synchronous server keeps a thread per call in flight. By default it lets all but two
  // idle ones exit and creates them again for the next calls: with 64 calls waiting on a group
  // commit, thread creation and teardown took a fifth of the CPU. Idle threads now stay.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kSyncServerIdleThreads);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(rpc_metrics_->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(token_service_.get());
  builder.RegisterService(admin_service_.get());
  builder.RegisterService(ext_authz_service_.get());
  builder.RegisterService(health_.get());
  for (grpc::Service* service : extra_services_) builder.RegisterService(service);
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("config: --grpc_listen: cannot listen on ", config_.grpc_listen));
  }
  return StartHttp();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerApp::ServerCredentials() const {
  if (config_.tls_cert.empty()) return grpc::InsecureServerCredentials();
  if (auto s = CheckTlsFiles(config_.tls_cert, config_.tls_key, config_.tls_client_ca); !s.ok()) {
    return s;
  }
  // gRPC re-reads the files every interval and serves new ones on new connections, so a
  // rotated Kubernetes secret takes effect without a restart.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config_.tls_key, config_.tls_cert, config_.tls_client_ca,
      static_cast<unsigned int>(absl::ToInt64Seconds(config_.tls_reload_interval)));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (config_.tls_client_ca.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  Log(LogLevel::kInfo, "tls_enabled",
      {{"mutual", config_.tls_client_ca.empty() ? "false" : "true"},
       {"reload_seconds", std::to_string(absl::ToInt64Seconds(config_.tls_reload_interval))}});
  return grpc::experimental::TlsServerCredentials(options);
}

void ServerApp::RegisterMetrics() {
  prometheus::BuildGauge()
      .Name("tessera_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*registry_)
      .Add({{"version", kTesseraVersion}})
      .Set(1);
  call_notes_ = std::make_unique<CallNotes>();
  rpc_metrics_ = std::make_unique<RpcMetrics>(
      *registry_, *call_notes_,
      std::vector<std::string>{"tessera.v1.TokenService", "tessera.v1.AdminService",
                               "envoy.service.auth.v3.Authorization", "grpc.health.v1.Health"});
  service_metrics_ = std::make_unique<ServiceMetrics>(*registry_);
  AddScrapeReads();
}

// The readers run only when /metrics is scraped: after StartHttp, and never after Shutdown has
// stopped the HTTP server, so every member they read (health_ is made just after this) exists.
void ServerApp::AddScrapeReads() {
  ReadAtScrape& r = *scrape_reads_;
  auto one = [](double v) { return Samples{{{}, v}}; };
  r.AddGauge("tessera_serving",
             "1 while the replica reports SERVING: PostgreSQL reachable and the change feed in "
             "sync; 0 while it tells load balancers to prefer another replica.",
             [this, one] { return one(health_->serving() ? 1 : 0); });
  r.AddGauge("tessera_database_up", "1 if the last health probe reached PostgreSQL, else 0.",
             [this, one] { return one(database_up_.load() ? 1 : 0); });
  r.AddGauge("tessera_change_feed_in_sync",
             "1 while the change feed listens and the snapshot has caught up, else 0.",
             [this, one] { return one(feed_->in_sync() ? 1 : 0); });
  r.AddGauge("tessera_snapshot_entries", "Entries in the introspection snapshot, by kind.", [this] {
    AuthSnapshot::Sizes s = snapshot_->sizes();
    return Samples{{{{"kind", "accounts"}}, static_cast<double>(s.accounts)},
                   {{{"kind", "revoked_tokens"}}, static_cast<double>(s.revoked_tokens)},
                   {{{"kind", "revoked_families"}}, static_cast<double>(s.revoked_families)},
                   {{{"kind", "api_keys"}}, static_cast<double>(s.api_keys)}};
  });
  r.AddGauge("tessera_db_pool_connections",
             "PostgreSQL connections of this replica's pool, by state.", [this] {
               int open = pool_->open_connections(), idle = pool_->idle_connections();
               return Samples{
                   {{{"state", "idle"}}, static_cast<double>(idle)},
                   {{{"state", "in_use"}}, static_cast<double>(std::max(0, open - idle))}};
             });
  r.AddGauge("tessera_signing_key_age_seconds",
             "Seconds since the key that signs now began signing.", [this] {
               absl::Time now = clock_.Now();
               auto since = key_ring_->SigningSince(now);
               return since ? Samples{{{}, absl::ToDoubleSeconds(now - *since)}} : Samples{};
             });
  BoundedWorkerPool& hashing = *password_pool_;
  r.AddGauge("tessera_password_hash_queue_depth",
             "Password hashes waiting for a worker (logins, password changes).",
             [&hashing, one] { return one(static_cast<double>(hashing.queued())); });
  r.AddGauge("tessera_password_hash_queue_capacity",
             "Password hashes that may wait; past this, calls are refused with RESOURCE_EXHAUSTED.",
             [&hashing, one] { return one(static_cast<double>(hashing.max_queued())); });
  r.AddGauge("tessera_password_hash_workers", "Password-hashing workers, by state.", [&hashing] {
    double busy = hashing.busy();
    return Samples{{{{"state", "busy"}}, busy},
                   {{{"state", "idle"}}, std::max(0.0, hashing.threads() - busy)}};
  });
  r.AddCounter("tessera_password_hash_refused_total",
               "Password hashes refused because the queue was full.",
               [&hashing, one] { return one(static_cast<double>(hashing.refused())); });
  // check_writes_ is made just after this, before any scrape.
  r.AddGauge("tessera_ext_authz_write_queue_depth",
             "Failed secrets' counts that Checks wait on, queued for a writer (PostgreSQL slow or "
             "stuck when it grows).",
             [this, one] { return one(static_cast<double>(check_writes_->queued())); });
  r.AddCounter("tessera_ext_authz_writes_refused_total",
               "Checks refused as unavailable because their counts' queue was full.",
               [this, one] { return one(static_cast<double>(check_writes_->refused())); });
}

std::string ServerApp::MetricsText() const {
  return tessera::MetricsText({registry_.get(), scrape_reads_.get(), process_metrics_.get()});
}

absl::Status ServerApp::StartHttp() {
  // Series for the routes that are served, and only those.
  std::vector<std::string> handlers = SidePortHandlerNames();
  if (config_.oauth_served()) {
    for (const std::string& h : OAuthEndpoints::HandlerNames()) handlers.push_back(h);
    for (const ExtraRoute& r : extra_routes_) handlers.push_back(r.name);
  }
  http_metrics_ = std::make_unique<HttpMetrics>(*registry_, handlers);
  // Probes and scrapes arrive every few seconds: their lines are debug, not info. As before the
  // OAuth port: as many threads as cores (at least 8), five requests per connection.
  side_server_ = std::make_unique<HttpServer>(
      HttpServerOptions{
          .name = "side",
          .listen = config_.http_listen,
          .threads = static_cast<int>(std::max(8u, std::thread::hardware_concurrency() - 1)),
          .keep_alive_max_count = 5,
          .log_level = LogLevel::kDebug},
      *http_metrics_);
  AddSidePortRoutes(*side_server_, {.ready = [this] { return health_->serving(); },
                                    .metrics = [this] { return MetricsText(); },
                                    .jwks = [this] { return key_manager_->JwksJson(); }});
  auto side = side_server_->Start("http_listen");
  if (!side.ok()) return side.status();
  http_port_ = *side;
  return StartOAuth();
}

absl::Status ServerApp::StartOAuth() {
  if (config_.oauth_listen.empty()) return absl::OkStatus();
  if (!config_.oauth_served()) {
    Log(LogLevel::kWarning, "oauth_not_served",
        {{"reason", config_.tls_cert.empty()
                        ? "no tls_cert and oauth_plaintext is false: the OAuth port carries "
                          "passwords and secrets"
                        : "the issuer is not an https:// URL: set --issuer to the OAuth port's "
                          "public URL (this changes the iss of new tokens) to serve it"}});
    return absl::OkStatus();
  }
  bool tls = !config_.tls_cert.empty();
  if (tls) {
    auto material = TlsMaterial::Load({.cert = config_.tls_cert,
                                       .key = config_.tls_key,
                                       .client_ca = config_.tls_client_ca,
                                       .reload = config_.tls_reload_interval});
    if (!material.ok()) return material.status();
    oauth_tls_ = *std::move(material);
  }
  oauth_edge_ = std::make_unique<OAuthEdge>(*service_metrics_,
                                            /*mutual_tls=*/!config_.tls_client_ca.empty(),
                                            config_.service_token_prefix);
  oauth_ = std::make_unique<OAuthEndpoints>(
      *oauth_edge_, *sessions_, *introspection_, *revocation_, *checks_, *key_manager_,
      OAuthOptions{.issuer = config_.issuer,
                   .client_certificates = config_.introspect_auth == Config::RelayAuth::kMtls});
  oauth_server_ = std::make_unique<HttpServer>(HttpServerOptions{.name = "oauth",
                                                                 .listen = config_.oauth_listen,
                                                                 .threads = config_.http_threads,
                                                                 .tls = oauth_tls_.get()},
                                               *http_metrics_);
  oauth_->Register(*oauth_server_);
  for (ExtraRoute& r : extra_routes_) {
    oauth_server_->Handle(r.method, r.path, r.name, std::move(r.handler));
  }
  auto port = oauth_server_->Start("oauth_listen");
  if (!port.ok()) return port.status();
  oauth_port_ = *port;
  if (tls) {
    Log(LogLevel::kInfo, "oauth_serving",
        {{"port", std::to_string(oauth_port_)}, {"transport", "https"}});
  } else {
    Log(LogLevel::kWarning, "oauth_serving",
        {{"port", std::to_string(oauth_port_)},
         {"transport", "plaintext"},
         {"warning",
          "oauth_plaintext: passwords, secrets and tokens cross the network "
          "unencrypted; for local development only"}});
  }
  return absl::OkStatus();
}

void ServerApp::FlushKeyUsage() {
  if (absl::Status s = key_usage_->Flush(*stores_->api_keys); !s.ok()) {
    Log(LogLevel::kWarning, "key_usage_flush_failed", {{"error", std::string(s.message())}});
  }
}

void ServerApp::HealthLoop() {
  bool was_serving = true;
  while (!stopping_.WaitForNotificationWithTimeout(config_.health_interval)) {
    absl::Status s = pool_->Ping();
    database_up_ = s.ok();
    // A replica that cannot hear the change feed would answer from a snapshot that no longer
    // follows revocations: still answer, but tell load balancers to prefer another replica.
    if (s.ok() && !feed_->in_sync()) s = absl::UnavailableError("change feed reconnecting");
    bool serving = s.ok();
    if (serving != was_serving) {
      Log(serving ? LogLevel::kInfo : LogLevel::kWarning,
          serving ? "database_reachable" : "database_unreachable",
          {{"error", std::string(s.message())}});
      was_serving = serving;
    }
    health_->SetServing(serving);
  }
}

void ServerApp::MaintenanceLoop() {
  absl::Time last_prune = absl::Now();
  // As often as the health probe: last_used_at is then at most that far behind.
  while (!stopping_.WaitForNotificationWithTimeout(config_.health_interval)) {
    FlushKeyUsage();
    if (absl::Now() - last_prune > absl::Seconds(30)) {
      snapshot_->Prune();
      if (absl::Status p = login_guard_->Prune(); !p.ok()) {
        Log(LogLevel::kWarning, "throttle_prune_failed", {{"error", std::string(p.message())}});
      }
      last_prune = absl::Now();
    }
  }
}

void ServerApp::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (health_) health_->Shutdown();
  // Both faces stop taking calls, then let the ones in flight finish.
  if (oauth_server_) oauth_server_->StopAccepting();
  if (grpc_server_) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    grpc_server_->Wait();
  }
  if (feed_) feed_->Stop();
  if (health_thread_.joinable()) health_thread_.join();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  if (key_usage_) FlushKeyUsage();  // the last uses, once nothing else flushes
  if (oauth_server_) oauth_server_->Join();
  if (side_server_) side_server_->Stop();
  Log(LogLevel::kInfo, "stopped");
}

}  // namespace tessera
