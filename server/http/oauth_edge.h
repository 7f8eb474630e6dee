// OAuthEdge: where an OAuth 2.0 request meets the logic, done once per request for every
// endpoint (DESIGN.md §3). It reads the form body strictly (RFC 6749 §3.1–3.2: a POST of
// application/x-www-form-urlencoded, each parameter at most once), makes the CallContext (request
// ID, peer, the `Authorization` header, what TLS verified), finds the client's credentials
// (client_secret_basic or client_secret_post, never both), and turns the logic's absl::Status into
// RFC 6749 §5.2's JSON error with its HTTP status, counting a refused credential on the way.
// Internal and unavailable details are logged with the request ID, never sent; no error repeats
// a secret.
//
//   auto form = edge.ReadForm(req);
//   if (!form.ok()) return edge.Fail(res, call, form.status(), OAuthEdge::Party::kClient);
#ifndef TESSERA_SERVER_HTTP_OAUTH_EDGE_H_
#define TESSERA_SERVER_HTTP_OAUTH_EDGE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "server/http/form_body.h"
#include "server/http/http_server.h"
#include "server/service_metrics.h"
#include "services/call_context.h"

namespace tessera {

class OAuthEdge {
 public:
  // `mutual_tls`: the port verifies client certificates, so the edge reads what TLS verified.
  // `service_token_prefix`: what a client_id must start with (a client is a service token).
  OAuthEdge(ServiceMetrics& metrics, bool mutual_tls, std::string service_token_prefix)
      : metrics_(metrics),
        mutual_tls_(mutual_tls),
        service_token_prefix_(std::move(service_token_prefix)) {}

  // Whose credential a failure is about, which decides its OAuth error.
  enum class Party {
    kClient,  // the client authenticating itself (client_credentials): invalid_client, 401
    kGrant,   // the grant's credential (a password, a refresh token): invalid_grant, 400
    kCaller,  // the caller of introspection or revocation: invalid_client 401, or 403
  };

  CallContext Begin(const httplib::Request& req, const HttpNote& note) const;
  // The body, or INVALID_ARGUMENT for a wrong content type or a malformed or repeated parameter.
  static absl::StatusOr<FormBody> ReadForm(const httplib::Request& req);
  // The client's credentials: from the Basic `Authorization` header or the body's client_id and
  // client_secret; nullopt when neither. INVALID_ARGUMENT when malformed or when the request
  // carries two methods (an Authorization header of any scheme beside a client_secret);
  // UNAUTHENTICATED when the client_id is no service token (a user's token or an access token
  // is no client, even though it could be sent as a bearer).
  absl::StatusOr<std::optional<ClientCredentials>> Client(const CallContext& call,
                                                          const FormBody& form) const;
  // The call as the logic sees it when `client` authenticates the caller: its service token as
  // the bearer credential, its secret beside it (as `x-api-secret` travels on gRPC).
  static void AuthenticateAs(const ClientCredentials& client, CallContext& call);

  void Fail(httplib::Response& res, const CallContext& call, const absl::Status& status,
            Party party);
  // 200 with the JSON `body` and RFC 6749 §5.1's Cache-Control: no-store and Pragma: no-cache.
  static void SendJson(httplib::Response& res, std::string body);

  ServiceMetrics& metrics() { return metrics_; }

 private:
  ServiceMetrics& metrics_;
  const bool mutual_tls_;
  const std::string service_token_prefix_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_OAUTH_EDGE_H_
