// ServerApp: the one place where tessera's objects are wired together (DESIGN.md §3). main()
// runs it as a process; tests run it in-process on port 0 with a FakeClock.
#ifndef TESSERA_SERVER_APP_H_
#define TESSERA_SERVER_APP_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/sync.h"
#include "server/config.h"
#include "server/http/http_server.h"

namespace grpc {
class Server;
class ServerCredentials;
class Service;
}  // namespace grpc
namespace prometheus {
class Registry;
}

namespace tessera {

class PgPool;
struct Stores;
class KeyRing;
class Aead;
class SecretDigester;
class PasswordHasher;
class BoundedWorkerPool;
class SessionLogic;
class IntrospectionLogic;
class ProxyCheckLogic;
class ExtAuthzService;
class RevocationLogic;
class GrpcEdge;
class CredentialCheck;
class AdminLogic;
class KeyManager;
class TokenServiceImpl;
class AdminServiceImpl;
class HealthService;
class AuthSnapshot;
class ApiKeyLogic;
class KeyUsage;
class LoginGuard;
class CallNotes;
class ReadAtScrape;
class ProcessMetrics;
class RpcMetrics;
class ServiceMetrics;
class RotationLogic;
class PgChangeFeed;
class SnapshotStore;
class HttpMetrics;
class OAuthEdge;
class OAuthEndpoints;
class TlsMaterial;

class ServerApp {
 public:
  // `clock` must outlive the app.
  ServerApp(Config config, const Clock& clock);
  ~ServerApp();

  // Waits for the database (up to startup_timeout), migrates, loads or creates the signing key,
  // loads the introspection snapshot and starts following the change feed, then starts the gRPC
  // server, the HTTP side port and the health probe.
  absl::Status Start();
  // Serves `service` too, on the same gRPC server (the benchmark's echo baseline). Before Start;
  // the service must outlive the app.
  void AddService(grpc::Service* service) { extra_services_.push_back(service); }
  // Serves `handler` on the OAuth port too (the benchmark's HTTP echo baseline). Before Start.
  void AddOAuthRoute(std::string method, std::string path, std::string name, HttpHandler handler) {
    extra_routes_.push_back(
        {std::move(method), std::move(path), std::move(name), std::move(handler)});
  }
  // Stops accepting calls, gives in-flight ones `grace` to finish, then stops everything.
  void Shutdown(absl::Duration grace);

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // 0 when the OAuth port is not served (no TLS and no oauth_plaintext, or no oauth_listen).
  int oauth_port() const { return oauth_port_; }
  PgPool& pool() { return *pool_; }
  AuthSnapshot& snapshot() { return *snapshot_; }
  const PgChangeFeed& change_feed() const { return *feed_; }
  // Tests stop it to see what this replica applies of its own writes without the feed.
  PgChangeFeed& change_feed() { return *feed_; }
  // The logic the faces call, for tests that drive it from many threads without a transport.
  SessionLogic& sessions() { return *sessions_; }
  IntrospectionLogic& introspection() { return *introspection_; }
  ProxyCheckLogic& proxy_check() { return *proxy_check_; }
  RevocationLogic& revocation() { return *revocation_; }
  CredentialCheck& credentials() { return *checks_; }
  AdminLogic& admin_logic() { return *admin_logic_; }
  // What /metrics answers now.
  std::string MetricsText() const;

 private:
  // Start's steps, in order: each uses only what the ones before it built.
  absl::Status OpenDatabase();  // waits for PostgreSQL, migrates, opens the pool
  absl::Status LoadState();     // signing keys, the snapshot, the stores, the change feed
  void BuildLogic();            // the transport-free logic of services/
  absl::Status StartFaces();    // metrics, the gRPC server, the HTTP side port

  // Marks the replica NOT_SERVING while PostgreSQL or the change feed is away.
  void HealthLoop();
  // Flushes API keys' last_used_at and prunes the snapshot and the login throttle.
  void MaintenanceLoop();
  // Writes the API keys' last_used_at times noted since the last flush.
  void FlushKeyUsage();
  // The side port, then the OAuth port when it is served.
  absl::Status StartHttp();
  absl::Status StartOAuth();
  // Registers what /metrics shows (the RPC and service counters register themselves).
  void RegisterMetrics();
  // The gauges read at each scrape: the replica's state, pools and snapshot.
  void AddScrapeReads();
  // Plaintext, TLS, or mutual TLS, per the tls_* settings.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials() const;

  Config config_;
  const Clock& clock_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<SnapshotStore> snapshot_store_;
  std::unique_ptr<AuthSnapshot> snapshot_;
  std::unique_ptr<Stores> stores_;
  std::unique_ptr<PgChangeFeed> feed_;
  std::unique_ptr<KeyRing> key_ring_;
  std::unique_ptr<Aead> kek_;
  std::unique_ptr<SecretDigester> digester_;
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<BoundedWorkerPool> password_pool_;
  std::unique_ptr<KeyUsage> key_usage_;
  std::unique_ptr<LoginGuard> login_guard_;
  // Made first: the change feed records into it from LoadState on.
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ReadAtScrape> scrape_reads_;
  std::unique_ptr<ProcessMetrics> process_metrics_;
  std::atomic<bool> database_up_{false};
  std::unique_ptr<CallNotes> call_notes_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<ServiceMetrics> service_metrics_;
  std::unique_ptr<CredentialCheck> checks_;
  std::unique_ptr<SessionLogic> sessions_;
  std::unique_ptr<IntrospectionLogic> introspection_;
  std::unique_ptr<ProxyCheckLogic> proxy_check_;
  std::unique_ptr<RevocationLogic> revocation_;
  std::unique_ptr<ApiKeyLogic> api_key_logic_;
  std::unique_ptr<RotationLogic> rotation_logic_;
  std::unique_ptr<AdminLogic> admin_logic_;
  std::unique_ptr<KeyManager> key_manager_;
  std::unique_ptr<GrpcEdge> grpc_edge_;
  std::unique_ptr<TokenServiceImpl> token_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<ExtAuthzService> ext_authz_service_;
  std::unique_ptr<HealthService> health_;
  // Where Check makes the writes its callback reactor must not (declared before the server, so
  // it is destroyed after the server has finished every call).
  std::unique_ptr<BoundedWorkerPool> check_writes_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<HttpMetrics> http_metrics_;
  std::unique_ptr<HttpServer> side_server_;
  std::unique_ptr<TlsMaterial> oauth_tls_;
  std::unique_ptr<OAuthEdge> oauth_edge_;
  std::unique_ptr<OAuthEndpoints> oauth_;
  std::unique_ptr<HttpServer> oauth_server_;
  struct ExtraRoute {
    std::string method, path, name;
    HttpHandler handler;
  };
  std::vector<ExtraRoute> extra_routes_;
  std::thread health_thread_;
  std::thread maintenance_thread_;
  Notification stopping_;
  bool shut_down_ = false;
  std::vector<grpc::Service*> extra_services_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  int oauth_port_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_APP_H_
