// OAuthEndpoints: tessera's OAuth 2.0 face, a thin translation onto the logic the gRPC face
// calls (DESIGN.md §2): the token endpoint (RFC 6749: client_credentials with a service token,
// password with the extension parameter org_slug, refresh_token), introspection (RFC 7662, from
// the snapshot like gRPC's Introspect), revocation (RFC 7009) and the authorization server
// metadata (RFC 8414) with the JWKS it points to. Which OAuth error each refusal becomes is
// OAuthEdge's; what is allowed is the logic's, so both faces refuse the same calls.
//
//   OAuthEndpoints oauth(edge, sessions, introspection, revocation, checks, keys,
//                        {.issuer = "https://id.example.com"});
//   oauth.Register(server);  // /oauth2/token, /oauth2/introspect, /oauth2/revoke, metadata, JWKS
#ifndef TESSERA_SERVER_HTTP_OAUTH_ENDPOINTS_H_
#define TESSERA_SERVER_HTTP_OAUTH_ENDPOINTS_H_

#include <optional>
#include <string>
#include <vector>

#include "server/http/http_server.h"
#include "server/http/oauth_edge.h"

namespace tessera {

class SessionLogic;
class IntrospectionLogic;
class RevocationLogic;
class CredentialCheck;
class KeyManager;

struct OAuthOptions {
  std::string issuer;                // an http(s) URL: the endpoints' URLs are made from it
  bool client_certificates = false;  // introspection by TLS client certificate is allowed
};

class OAuthEndpoints {
 public:
  OAuthEndpoints(OAuthEdge& edge, SessionLogic& sessions, IntrospectionLogic& introspection,
                 RevocationLogic& revocation, CredentialCheck& checks, KeyManager& keys,
                 OAuthOptions options);

  void Register(HttpServer& server);
  // The handler names Register labels metrics with.
  static const std::vector<std::string>& HandlerNames();
  // The RFC 8414 document: the same on every replica of one configuration.
  std::string MetadataJson() const;
  // The paths the metadata is served at: RFC 8414 §3 puts an issuer's path after the well-known
  // name; the bare name is served too, for clients that do not insert the path.
  std::vector<std::string> MetadataPaths() const;

 private:
  // What introspection and revocation begin with: the call, the form with its `token`, and the
  // call as the logic sees it (the client's credentials, if sent, as its bearer). nullopt: the
  // request was refused, and answered.
  struct CallerRequest {
    CallContext call;
    CallContext as_client;
    FormBody form;
  };
  std::optional<CallerRequest> BeginCallerRequest(const httplib::Request& req,
                                                  httplib::Response& res, HttpNote& note);
  void Token(const httplib::Request& req, httplib::Response& res, HttpNote& note);
  void Introspect(const httplib::Request& req, httplib::Response& res, HttpNote& note);
  void Revoke(const httplib::Request& req, httplib::Response& res, HttpNote& note);

  OAuthEdge& edge_;
  SessionLogic& sessions_;
  IntrospectionLogic& introspection_;
  RevocationLogic& revocation_;
  CredentialCheck& checks_;
  KeyManager& keys_;
  OAuthOptions options_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_OAUTH_ENDPOINTS_H_
