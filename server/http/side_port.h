// The side port's routes, for operators and their tools rather than for clients: /healthz
// (alive), /readyz (SERVING), /metrics (Prometheus text) and /.well-known/jwks.json (the public
// keys, for services that verify tokens themselves). Plaintext: nothing on it is secret, and
// kubelet probes and Prometheus scrape it without certificates.
//
//   AddSidePortRoutes(server, {.ready = [&] { return health.serving(); }, ...});
#ifndef TESSERA_SERVER_HTTP_SIDE_PORT_H_
#define TESSERA_SERVER_HTTP_SIDE_PORT_H_

#include <functional>
#include <string>

#include "server/http/http_server.h"

namespace tessera {

struct SidePortReads {
  std::function<bool()> ready;
  std::function<std::string()> metrics;
  std::function<std::string()> jwks;
};

void AddSidePortRoutes(HttpServer& server, SidePortReads reads);

// The handler names the side port labels metrics with, "none" (no such path) among them.
const std::vector<std::string>& SidePortHandlerNames();

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_SIDE_PORT_H_
