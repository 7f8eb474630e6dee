#include "server/http/oauth_endpoints.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/http/json_object.h"
#include "services/credential_check.h"
#include "services/introspection_logic.h"
#include "services/key_manager.h"
#include "services/revocation_logic.h"
#include "services/session_logic.h"

namespace tessera {
namespace {

using Party = OAuthEdge::Party;
using nlohmann::json;

absl::Status Required(absl::string_view name) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": required"));
}

// The issuer without a trailing slash, and the path after its host ("" for none).
std::string IssuerBase(const std::string& issuer) {
  return std::string(absl::StripSuffix(issuer, "/"));
}
std::string IssuerPath(const std::string& issuer) {
  std::string base = IssuerBase(issuer);
  size_t scheme = base.find("://");
  size_t slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "" : base.substr(slash);
}

}  // namespace

OAuthEndpoints::OAuthEndpoints(OAuthEdge& edge, SessionLogic& sessions,
                               IntrospectionLogic& introspection, RevocationLogic& revocation,
                               CredentialCheck& checks, KeyManager& keys, OAuthOptions options)
    : edge_(edge),
      sessions_(sessions),
      introspection_(introspection),
      revocation_(revocation),
      checks_(checks),
      keys_(keys),
      options_(std::move(options)) {}

std::vector<std::string> OAuthEndpoints::MetadataPaths() const {
  std::vector<std::string> paths = {"/.well-known/oauth-authorization-server"};
  std::string path = IssuerPath(options_.issuer);
  if (!path.empty()) paths.push_back(paths[0] + path);
  return paths;
}

std::string OAuthEndpoints::MetadataJson() const {
  std::string base = IssuerBase(options_.issuer);
  json caller_methods = {"client_secret_basic", "client_secret_post"};
  if (options_.client_certificates) caller_methods.push_back("tls_client_auth");
  // No authorization endpoint: no response type, and so no PKCE methods
  // (code_challenge_methods_supported is omitted). Scopes are each organization's own, named by
  // its roles: scopes_supported is omitted too.
  json doc = {
      {"issuer", options_.issuer},
      {"token_endpoint", base + "/oauth2/token"},
      {"introspection_endpoint", base + "/oauth2/introspect"},
      {"revocation_endpoint", base + "/oauth2/revoke"},
      {"jwks_uri", base + "/.well-known/jwks.json"},
      {"grant_types_supported", {"client_credentials", "password", "refresh_token"}},
      {"response_types_supported", json::array()},
      // "none": the password and refresh_token grants need no client (as on gRPC).
      {"token_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "none"}},
      {"introspection_endpoint_auth_methods_supported", caller_methods},
      {"revocation_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
  };
  return doc.dump();
}

const std::vector<std::string>& OAuthEndpoints::HandlerNames() {
  static const auto* names =
      new std::vector<std::string>{"metadata", "token", "introspect", "revoke", "jwks"};
  return *names;
}

void OAuthEndpoints::Register(HttpServer& server) {
  using namespace std::placeholders;
  server.Handle("POST", "/oauth2/token", "token",
                [this](const auto& req, auto& res, HttpNote& note) { Token(req, res, note); });
  server.Handle("POST", "/oauth2/introspect", "introspect",
                [this](const auto& req, auto& res, HttpNote& note) { Introspect(req, res, note); });
  server.Handle("POST", "/oauth2/revoke", "revoke",
                [this](const auto& req, auto& res, HttpNote& note) { Revoke(req, res, note); });
  std::string metadata = MetadataJson();
  for (const std::string& path : MetadataPaths()) {
    server.Handle("GET", path, "metadata", [metadata](const auto&, auto& res, HttpNote&) {
      res.set_header("Cache-Control", "public, max-age=300");
      res.set_content(metadata, "application/json");
    });
  }
  server.Handle("GET", "/.well-known/jwks.json", "jwks", [this](const auto&, auto& res, HttpNote&) {
    res.set_header("Cache-Control", "public, max-age=60");
    res.set_content(keys_.JwksJson(), "application/json");
  });
}

void OAuthEndpoints::Token(const httplib::Request& req, httplib::Response& res, HttpNote& note) {
  CallContext call = edge_.Begin(req, note);
  auto form = OAuthEdge::ReadForm(req);
  if (!form.ok()) return edge_.Fail(res, call, form.status(), Party::kGrant);
  std::string grant = form->Get("grant_type");
  if (grant.empty()) return edge_.Fail(res, call, Required("grant_type"), Party::kGrant);
  // RFC 8707's `resource` and the widespread `audience` both name the token's audience.
  if (form->Has("audience") && form->Has("resource")) {
    return edge_.Fail(res, call,
                      absl::InvalidArgumentError("audience: send audience or resource, not both"),
                      Party::kGrant);
  }
  std::string audience = form->Has("audience") ? form->Get("audience") : form->Get("resource");
  absl::StatusOr<IssuedTokens> issued;
  Party party = Party::kGrant;
  // A client is needed only for client_credentials; client credentials (Basic or post) sent on
  // another grant are checked, and wrong ones refused (RFC 6749 §3.2.1). A bearer header means
  // nothing to the token endpoint.
  auto client = edge_.Client(call, *form);
  if (!client.ok()) return edge_.Fail(res, call, client.status(), Party::kClient);
  if (client->has_value() && grant != "client_credentials") {
    CallContext as_client = call;
    OAuthEdge::AuthenticateAs(**client, as_client);
    if (auto c = checks_.AuthenticateCaller(as_client); !c.ok()) {
      return edge_.Fail(res, call, c.status(), Party::kClient);
    }
  }
  if (grant == "client_credentials") {
    party = Party::kClient;
    if (!client->has_value()) {
      return edge_.Fail(res, call,
                        absl::UnauthenticatedError("client authentication required: the service "
                                                   "token as client_id, its secret as "
                                                   "client_secret"),
                        party);
    }
    KeyLogin login{.key = (*client)->id,
                   .secret = (*client)->secret,
                   .scopes = form->GetList("scope"),
                   .audience = audience};
    issued = sessions_.LoginWithApiKey(login, ApiKeyKind::kServiceToken, call);
  } else if (grant == "password") {
    for (const char* name : {"username", "password", "org_slug"}) {
      if (!form->Has(name)) return edge_.Fail(res, call, Required(name), Party::kGrant);
    }
    PasswordLogin login{.org_slug = form->Get("org_slug"),
                        .username = form->Get("username"),
                        .password = form->Get("password"),
                        .scopes = form->GetList("scope"),
                        .audience = audience};
    issued = sessions_.LoginWithPassword(login, call);
  } else if (grant == "refresh_token") {
    if (!form->Has("refresh_token")) {
      return edge_.Fail(res, call, Required("refresh_token"), Party::kGrant);
    }
    if (!audience.empty()) {
      return edge_.Fail(
          res, call,
          absl::InvalidArgumentError("audience: a refreshed token keeps its session's audience"),
          Party::kGrant);
    }
    issued = sessions_.Refresh(form->Get("refresh_token"), call, form->GetList("scope"));
  } else {
    return SetJsonError(res, 400, "unsupported_grant_type",
                        "grant_type: one of client_credentials, password, refresh_token");
  }
  if (!issued.ok()) return edge_.Fail(res, call, issued.status(), party);
  edge_.metrics().Issued(issued->grant);
  note.org_id = issued->org.id;
  note.principal_id = issued->account.id;
  JsonObject body;
  body.Add("access_token", issued->access_token)
      .Add("token_type", "Bearer")
      .Add("expires_in", issued->expires_in)
      .Add("scope", absl::StrJoin(issued->scopes.items(), " "));
  if (!issued->refresh_token.empty()) body.Add("refresh_token", issued->refresh_token);
  OAuthEdge::SendJson(res, std::move(body).Text());
}

std::optional<OAuthEndpoints::CallerRequest> OAuthEndpoints::BeginCallerRequest(
    const httplib::Request& req, httplib::Response& res, HttpNote& note) {
  CallContext call = edge_.Begin(req, note);
  auto form = OAuthEdge::ReadForm(req);
  if (!form.ok()) {
    edge_.Fail(res, call, form.status(), Party::kCaller);
    return std::nullopt;
  }
  if (!form->Has("token")) {
    edge_.Fail(res, call, Required("token"), Party::kCaller);
    return std::nullopt;
  }
  auto client = edge_.Client(call, *form);
  if (!client.ok()) {
    edge_.Fail(res, call, client.status(), Party::kCaller);
    return std::nullopt;
  }
  // The logic sees the client as a bearer credential; failures answer as the client sent it.
  CallContext as_client = call;
  if (client->has_value()) OAuthEdge::AuthenticateAs(**client, as_client);
  return CallerRequest{std::move(call), std::move(as_client), *std::move(form)};
}

void OAuthEndpoints::Introspect(const httplib::Request& req, httplib::Response& res,
                                HttpNote& note) {
  auto r = BeginCallerRequest(req, res, note);
  if (!r) return;
  const CallContext& call = r->call;
  const CallContext& as_client = r->as_client;
  const FormBody* form = &r->form;
  auto caller = introspection_.Caller(as_client);
  if (!caller.ok()) return edge_.Fail(res, call, caller.status(), Party::kCaller);
  const Principal* asking = caller->has_value() ? &**caller : nullptr;
  if (asking != nullptr) {
    note.org_id = asking->org_id;
    note.principal_id = asking->account_id;
  }
  auto result =
      introspection_.Introspect(as_client, asking, form->Get("token"), form->Get("secret"));
  if (!result.ok()) return edge_.Fail(res, call, result.status(), Party::kCaller);
  edge_.metrics().Introspected(result->active);
  if (!result->active) return OAuthEdge::SendJson(res, R"({"active":false})");
  const AccessTokenClaims& c = result->claims;
  JsonObject body;
  body.Add("active", true)
      .Add("scope", absl::StrJoin(c.scopes, " "))
      .Add("client_id", c.client_id)
      .Add("token_type", result->token_type)
      .Add("sub", c.sub)
      .Add("iss", c.iss)
      .Add("org_id", c.org_id);
  if (!result->username.empty()) body.Add("username", result->username);
  // An API key that never expires has no exp: 0 would read as 1970 to a resource server.
  if (c.exp != 0) body.Add("exp", c.exp);
  if (c.iat != 0) body.Add("iat", c.iat);
  if (c.nbf != 0) body.Add("nbf", c.nbf);
  if (!c.jti.empty()) body.Add("jti", c.jti);
  if (c.aud.size() == 1) body.Add("aud", c.aud[0]);
  if (c.aud.size() > 1) body.Add("aud", c.aud);
  OAuthEdge::SendJson(res, std::move(body).Text());
}

void OAuthEndpoints::Revoke(const httplib::Request& req, httplib::Response& res, HttpNote& note) {
  auto r = BeginCallerRequest(req, res, note);
  if (!r) return;
  const CallContext& call = r->call;
  const CallContext& as_client = r->as_client;
  const FormBody* form = &r->form;
  auto caller = checks_.AuthenticateCaller(as_client);
  if (!caller.ok()) return edge_.Fail(res, call, caller.status(), Party::kCaller);
  note.org_id = caller->org_id;
  note.principal_id = caller->account_id;
  // The token is routed by its shape, so token_type_hint needs no answer of its own (RFC 7009
  // §2.1 lets the server search every type).
  auto revoked = revocation_.Revoke(*caller, {RevokeTarget::kToken, form->Get("token")}, as_client);
  if (!revoked.ok()) return edge_.Fail(res, call, revoked.status(), Party::kCaller);
  edge_.metrics().Revoked(*revoked);
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
}

}  // namespace tessera
