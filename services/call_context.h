// CallContext: one call as the logic sees it, made once at a face's edge (gRPC metadata today,
// an HTTP request later) so that nothing in services/ sees a transport type. It carries what
// identifies the call in logs and audit rows (request ID, peer), the credential the caller
// presented for the call itself, what TLS verified about the connection, and the caller's
// deadline (carried for the logic; no unit reads it yet).
//
//   CallContext call{.request_id = "r1", .peer = "ipv4:10.0.0.7:5100",
//                    .authorization = "Bearer eyJ..."};
//   auto caller = checks.AuthenticateCaller(call);  // Principal or UNAUTHENTICATED
//
// The credential fields are secrets: never logged, never copied into an audit row.
#ifndef TESSERA_SERVICES_CALL_CONTEXT_H_
#define TESSERA_SERVICES_CALL_CONTEXT_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tessera {

struct CallContext {
  std::string request_id;
  std::string peer;
  // The `authorization` value as presented ("Bearer <token>"); nullopt: the call carried none.
  std::optional<std::string> authorization;
  // A service token's secret, which travels beside its bearer token (`x-api-secret`).
  std::string api_secret;
  // TLS verified a client certificate for this connection against the configured CA, and the
  // identity it names (its SANs, else its CN, comma separated).
  bool client_certificate_verified = false;
  std::string client_certificate_identity;
  absl::Time deadline = absl::InfiniteFuture();
  // Set by a face that answers from threads that must not block (gRPC's callback reactor): the
  // logic then queues the database writes that do not change its answer (a failed secret's
  // count, a lockout's audit row) here instead of making them, and the face runs them on threads
  // that may block before it answers. Null: the logic writes at once.
  std::vector<std::function<void()>>* deferred_writes = nullptr;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_CALL_CONTEXT_H_
