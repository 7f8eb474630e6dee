// ProxyCheckLogic: the decision a proxy (Envoy's ext_authz filter, a mesh sidecar, a gateway)
// asks for on every HTTP request it forwards: is the credential the request carries live, does
// it belong to an organization the proxy may see, and does it meet the route's policy. It
// decides from memory like introspection (the verified-token cache and the snapshot), so a
// revoked token or an unassigned role is denied on the next request, and a database outage
// denies nothing that is valid. Its one write, a failed service-token secret's count, is made
// at once or queued on CallContext::deferred_writes for the face to make.
//
//   auto proxy = check.Caller(call);  // the proxy: a client certificate, or tokens:introspect
//   if (!proxy.ok()) return Fail(proxy.status());
//   auto policy = RoutePolicy::Parse({{"tessera.required_scopes", "orders:read"}});
//   auto allowed = check.Check(proxy->has_value() ? &**proxy : nullptr, presented, *policy);
//   // allowed: the request's principal; UNAUTHENTICATED, PERMISSION_DENIED or
//   // RESOURCE_EXHAUSTED (a lockout, with its retry-after): why not.
#ifndef TESSERA_SERVICES_PROXY_CHECK_LOGIC_H_
#define TESSERA_SERVICES_PROXY_CHECK_LOGIC_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/scopes.h"
#include "services/call_context.h"
#include "services/credential_check.h"
#include "services/principal.h"

namespace tessera {

// The per-route rule, from the proxy's per-route configuration (Envoy's context_extensions),
// which the operator sets and a client never can.
struct RoutePolicy {
  static constexpr absl::string_view kRequiredScopes = "tessera.required_scopes";
  static constexpr absl::string_view kOrgId = "tessera.org_id";

  // Every scope here is needed (`admin` grants them all). Empty: any live credential passes.
  ScopeSet required_scopes;
  // Only this organization's credentials pass. Empty: any organization the proxy may see.
  std::string org_id;

  // Whether an extension's key is meant for tessera: it starts with "tessera" in any case, after
  // any blanks ("Tessera.required_scopes" and "tessera_org_id" are typos of ours, and a typo
  // must not open a route). Other keys belong to other filters.
  static bool Concerns(absl::string_view key);
  // From the extensions that Concerns (others are ignored). INVALID_ARGUMENT naming the key for
  // one that is not exactly one of the keys above, a scope that is not valid, or an org_id that
  // is not an ID.
  static absl::StatusOr<RoutePolicy> Parse(
      const std::vector<std::pair<std::string, std::string>>& extensions);
};

struct ProxyCheckOptions {
  // --ext_authz_auth=mtls: a proxy whose client certificate TLS verified may call Check without
  // a bearer credential.
  bool by_client_certificate = false;
};

class ProxyCheckLogic {
 public:
  ProxyCheckLogic(CredentialCheck& checks, ProxyCheckOptions options)
      : checks_(checks), options_(options) {}

  // The proxy calling Check: nullopt for one authenticated by its client certificate alone
  // (it sees every organization), else its principal, which must hold tokens:introspect
  // (PERMISSION_DENIED otherwise).
  absl::StatusOr<std::optional<Principal>> Caller(const CallContext& call);

  // Whether the request whose credential `presented` carries may pass `policy`. `presented`
  // is the request as the proxy relays it: its `authorization` and `x-api-secret` headers, and
  // as peer the downstream client's address (which a failed service-token secret counts
  // against; empty when the proxy did not say). `proxy` null: authenticated by certificate.
  // A proxy of a non-platform organization sees only its own organization's credentials;
  // another's is unknown to it (UNAUTHENTICATED) and moves none of its counters.
  // Returns the request's principal, or UNAUTHENTICATED (no credential, or not a live one),
  // PERMISSION_DENIED (another organization than the route's, or a required scope missing),
  // RESOURCE_EXHAUSTED with a retry-after (the credential or the client's address locked out).
  absl::StatusOr<Principal> Check(const Principal* proxy, const CallContext& presented,
                                  const RoutePolicy& policy);

 private:
  CredentialCheck& checks_;
  const ProxyCheckOptions options_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_PROXY_CHECK_LOGIC_H_
