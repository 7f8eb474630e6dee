// HttpServer: one HTTP(S) listener of tessera (the side port, the OAuth port) on cpp-httplib,
// with what both need done once: routes by exact path and name, 405 with `Allow` for a known
// path's other methods and a JSON 404 elsewhere, a bounded body (larger is 400 invalid_request),
// keep-alive, a fixed number of connection threads (cpp-httplib serves one keep-alive connection
// per thread), a request ID (the caller's safe `X-Request-Id`, else a new one; echoed), and
// per request the metrics (HttpMetrics) and one `"event":"http"` log line with request ID,
// method, path, status, duration, the org and principal the handler noted, and the peer.
//
//   HttpServer server({.name = "oauth", .listen = "0.0.0.0:8443", .threads = 64}, metrics);
//   server.Handle("POST", "/oauth2/token", "token",
//                 [](const httplib::Request& req, httplib::Response& res, HttpNote& note) {...});
//   auto port = server.Start();
#ifndef TESSERA_SERVER_HTTP_HTTP_SERVER_H_
#define TESSERA_SERVER_HTTP_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "core/log.h"
#include "server/http/http_metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tessera {

class TlsMaterial;

// What a request's log line says beyond the request itself; the handler fills the org and
// principal once it knows who acted.
struct HttpNote {
  std::string request_id;  // set before the handler runs
  std::string peer;        // "ipv4:10.0.0.7:5100", as gRPC names peers
  std::string org_id;
  std::string principal_id;
};

using HttpHandler =
    std::function<void(const httplib::Request&, httplib::Response&, HttpNote& note)>;

struct HttpServerOptions {
  std::string name;                      // "side", "oauth": which port a log line is about
  std::string listen;                    // host:port, port 0 = any
  int threads = 8;                       // connections served at once
  size_t keep_alive_max_count = 100000;  // requests on one connection before it is closed
  size_t max_body = 64 * 1024;
  TlsMaterial* tls = nullptr;            // null: plaintext; else must outlive the server
  LogLevel log_level = LogLevel::kInfo;  // of the per-request line
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpMetrics& metrics);
  ~HttpServer();

  // Before Start. `handler_name` labels the metrics.
  void Handle(const std::string& method, const std::string& path, const std::string& handler_name,
              HttpHandler handler);
  // Binds and serves on a thread of its own. The port bound, or UNAVAILABLE naming the setting.
  // Returns once the server accepts connections, so that Stop never meets one still starting.
  absl::StatusOr<int> Start(const std::string& setting);
  // Stops accepting connections; the ones open finish their request (Join waits for them).
  void StopAccepting();
  void Join();
  void Stop() {
    StopAccepting();
    Join();
  }

 private:
  void Register();

  HttpServerOptions options_;
  HttpMetrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  // path -> method -> (handler name, handler)
  std::map<std::string, std::map<std::string, std::pair<std::string, HttpHandler>>> routes_;
  std::thread thread_;
};

// The JSON error body tessera's HTTP answers carry (RFC 6749 §5.2's shape).
void SetJsonError(httplib::Response& res, int status, const std::string& error,
                  const std::string& description);

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_HTTP_SERVER_H_
