// HTTP workloads, driven by wrk (Debian's `wrk`, the client the oidc-provider peer benchmark uses
// too, with the same settings: one thread, N keep-alive connections, a Lua script that posts a
// form body round-robin over a list and judges every answer). tessera's OAuth introspection is
// measured beside an echo route on the same HTTP server in the same run, so the ratio says what
// the introspection itself costs over cpp-httplib's request handling.
//
//   HttpTarget t{.port = app.oauth_port(), .path = "/oauth2/introspect",
//                .authorization = "Basic ...", .bodies = {"token=eyJ..."}};
//   LoadResult r = RunWrk(t, /*connections=*/64, options);
#ifndef TESSERA_BENCH_HTTP_LOAD_H_
#define TESSERA_BENCH_HTTP_LOAD_H_

#include <string>
#include <vector>

#include "bench/load.h"

namespace tessera::bench {

struct HttpTarget {
  int port = 0;
  std::string path;
  std::string authorization;        // the Authorization header of every request
  std::vector<std::string> bodies;  // form bodies, taken in turn
  std::string must_contain;         // an answer without it (or not 200) is an error
};

// wrk at `connections` for options.duration after options.warmup (a run of its own); errors are
// wrk's socket and status errors plus the answers judged wrong. Exits the program when wrk cannot
// be run.
LoadResult RunWrk(const HttpTarget& target, int connections, const LoadOptions& options);

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_HTTP_LOAD_H_
