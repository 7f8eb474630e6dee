#include "server/http/oauth_edge.h"

#include <httplib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "core/log.h"
#include "core/tls_material.h"
#include "services/login_guard.h"
#include "services/refusal.h"

namespace tessera {
namespace {

// The field an INVALID_ARGUMENT names: services/validation.h's messages begin "<field>: ".
absl::string_view FieldOf(const absl::Status& status) {
  absl::string_view m = status.message();
  size_t colon = m.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : m.substr(0, colon);
}

bool PresentedBearer(const CallContext& call) {
  return call.authorization && absl::StartsWithIgnoreCase(*call.authorization, "bearer ");
}

}  // namespace

CallContext OAuthEdge::Begin(const httplib::Request& req, const HttpNote& note) const {
  CallContext call;
  call.request_id = note.request_id;
  call.peer = note.peer;
  if (req.has_header("Authorization")) call.authorization = req.get_header_value("Authorization");
  if (mutual_tls_) {
    call.client_certificate_verified =
        TlsMaterial::VerifiedClient(req.ssl, &call.client_certificate_identity);
  }
  return call;
}

absl::StatusOr<FormBody> OAuthEdge::ReadForm(const httplib::Request& req) {
  std::string type = absl::AsciiStrToLower(req.get_header_value("Content-Type"));
  absl::string_view media =
      absl::StripAsciiWhitespace(absl::string_view(type).substr(0, type.find(';')));
  if (media != "application/x-www-form-urlencoded") {
    return absl::InvalidArgumentError(
        "content-type: must be application/x-www-form-urlencoded (RFC 6749 §3.2)");
  }
  return ParseFormBody(req.body);
}

absl::StatusOr<std::optional<ClientCredentials>> OAuthEdge::Client(const CallContext& call,
                                                                   const FormBody& form) const {
  std::optional<ClientCredentials> basic;
  if (call.authorization) {
    auto parsed = ParseBasicAuthorization(*call.authorization);
    if (!parsed.ok()) return parsed.status();
    basic = *std::move(parsed);
  }
  bool in_body = form.Has("client_secret");
  if (call.authorization && !basic && in_body) {
    return absl::InvalidArgumentError(
        "client authentication: an Authorization header and a client_secret; send one");
  }
  std::optional<ClientCredentials> client;
  if (basic) {
    // RFC 6749 §2.3: one method per request; a client_id beside Basic may only repeat it.
    if (in_body || (form.Has("client_id") && form.Get("client_id") != basic->id)) {
      return absl::InvalidArgumentError(
          "client authentication: use one method, client_secret_basic or client_secret_post");
    }
    client = std::move(basic);
  } else if (in_body) {
    if (!form.Has("client_id")) return absl::InvalidArgumentError("client_id: required");
    client = ClientCredentials{.id = form.Get("client_id"), .secret = form.Get("client_secret")};
  }
  if (client && ApiKeyPrefix(client->id) != service_token_prefix_) {
    return MarkRefused(absl::UnauthenticatedError("invalid client: a client is a service token"),
                       RefusalReason::kInvalidCredentials);
  }
  return client;
}

void OAuthEdge::AuthenticateAs(const ClientCredentials& client, CallContext& call) {
  call.authorization = absl::StrCat("Bearer ", client.id);
  call.api_secret = client.secret;
}

void OAuthEdge::SendJson(httplib::Response& res, std::string body) {
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  res.set_content(std::move(body), "application/json");
}

void OAuthEdge::Fail(httplib::Response& res, const CallContext& call, const absl::Status& status,
                     Party party) {
  metrics_.Refused(status);  // the one place this face counts a refused credential
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      if (party == Party::kGrant) return SetJsonError(res, 400, "invalid_grant", message);
      // RFC 6749 §5.2: 401 with the scheme the client used (Basic when it sent none).
      res.set_header("WWW-Authenticate", PresentedBearer(call)
                                             ? "Bearer realm=\"tessera\", error=\"invalid_token\""
                                             : "Basic realm=\"tessera\"");
      return SetJsonError(res, 401, "invalid_client", message);
    case absl::StatusCode::kPermissionDenied:
      if (party == Party::kGrant) return SetJsonError(res, 400, "invalid_grant", message);
      return SetJsonError(res, party == Party::kCaller ? 403 : 400, "unauthorized_client", message);
    case absl::StatusCode::kInvalidArgument:
      return SetJsonError(
          res, 400, FieldOf(status) == "scopes" ? "invalid_scope" : "invalid_request", message);
    case absl::StatusCode::kResourceExhausted:
      if (auto seconds = RetryAfterSeconds(status)) {  // a lockout
        res.set_header("Retry-After", std::to_string(*seconds));
        return SetJsonError(res, 429, "temporarily_unavailable",
                            absl::StrCat("too many failed attempts; retry after ", *seconds, " s"));
      }
      res.set_header("Retry-After", "1");  // the password-hashing pool is full
      return SetJsonError(res, 503, "temporarily_unavailable", message);
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      Log(LogLevel::kWarning, "http_unavailable",
          {{"request_id", call.request_id}, {"error", message}});
      res.set_header("Retry-After", "1");
      return SetJsonError(res, 503, "temporarily_unavailable",
                          "temporarily unavailable (database unreachable); retry");
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      Log(LogLevel::kError, "http_internal_error",
          {{"request_id", call.request_id}, {"error", message}});
      return SetJsonError(res, 500, "server_error",
                          absl::StrCat("internal error (request id ", call.request_id, ")"));
    default:
      return SetJsonError(res, 400, "invalid_request", message);
  }
}

}  // namespace tessera
