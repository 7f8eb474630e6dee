#include "server/http/side_port.h"

#include <httplib.h>

#include "server/metrics/exposition.h"

namespace tessera {

void AddSidePortRoutes(HttpServer& server, SidePortReads reads) {
  server.Handle("GET", "/healthz", "healthz",
                [](const auto&, auto& res, HttpNote&) { res.set_content("ok\n", "text/plain"); });
  server.Handle("GET", "/readyz", "readyz",
                [ready = reads.ready](const auto&, auto& res, HttpNote&) {
                  bool ok = ready();
                  res.status = ok ? 200 : 503;
                  res.set_content(
                      ok ? "ready\n" : "not ready: database unreachable or change feed resyncing\n",
                      "text/plain");
                });
  server.Handle("GET", "/metrics", "metrics",
                [metrics = reads.metrics](const auto&, auto& res, HttpNote&) {
                  res.set_content(metrics(), kMetricsContentType);
                });
  server.Handle("GET", "/.well-known/jwks.json", "jwks",
                [jwks = reads.jwks](const auto&, auto& res, HttpNote&) {
                  res.set_header("Cache-Control", "public, max-age=60");
                  res.set_content(jwks(), "application/json");
                });
}

const std::vector<std::string>& SidePortHandlerNames() {
  static const auto* names =
      new std::vector<std::string>{"healthz", "readyz", "metrics", "jwks", "none"};
  return *names;
}

}  // namespace tessera
