// IntrospectionLogic: RFC 7662 for the tokens other services are handed. Decides who may ask
// (a caller with tokens:introspect, or with --introspect_auth=mtls a connection whose client
// certificate TLS verified and that presents no bearer credential), and answers from memory:
// the verified-token cache and the snapshot, never PostgreSQL.
//
//   auto caller = introspection.Caller(call);  // the policy: who is asking
//   if (!caller.ok()) return Fail(caller.status());
//   auto answer = introspection.Introspect(call, *caller ? &**caller : nullptr, token, secret);
#ifndef TESSERA_SERVICES_INTROSPECTION_LOGIC_H_
#define TESSERA_SERVICES_INTROSPECTION_LOGIC_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/jwt.h"
#include "services/call_context.h"
#include "services/credential_check.h"
#include "services/principal.h"

namespace tessera {

// RFC 7662 answer. When `active` is false every other field is empty.
struct Introspection {
  bool active = false;
  AccessTokenClaims claims;  // scopes here are the effective (intersected) ones
  std::string username;
  std::string token_type;
};

struct IntrospectionPolicy {
  std::string issuer = "tessera";  // the `iss` of an API key's answer
  // --introspect_auth=mtls: a verified client certificate alone may introspect.
  bool by_client_certificate = false;
};

// Who asks about other clients' tokens (an introspecting service, or a proxy asking whether a
// request may pass). With a bearer credential: its principal (UNAUTHENTICATED, marked
// invalid_bearer, unless it is active). Without one, when `by_client_certificate` and TLS
// verified the connection's client certificate: nullopt, a caller bound to no organization.
absl::StatusOr<std::optional<Principal>> RelayingCaller(CredentialCheck& checks,
                                                        const CallContext& call,
                                                        bool by_client_certificate);

class IntrospectionLogic {
 public:
  IntrospectionLogic(CredentialCheck& checks, IntrospectionPolicy policy);

  // Who is asking: RelayingCaller under --introspect_auth.
  absl::StatusOr<std::optional<Principal>> Caller(const CallContext& call) {
    return RelayingCaller(checks_, call, policy_.by_client_certificate);
  }

  // PERMISSION_DENIED unless `caller` holds tokens:introspect. Never an error for a bad token:
  // inactive instead. UNAVAILABLE only before the snapshot's
  // first load. `secret` is only for service tokens. The caller relays someone else's
  // credential, so its own address is not throttled for a wrong secret; the key is. Tenants
  // stay apart: a token of another organization than `caller`'s is inactive to it, unless the
  // caller belongs to a platform organization (a shared gateway). `caller` null: a caller
  // authenticated by client certificate alone, which sees every organization's tokens.
  absl::StatusOr<Introspection> Introspect(const CallContext& call, const Principal* caller,
                                           absl::string_view token, absl::string_view secret);

 private:
  // Introspect for a token of `visible_org` (null: of any organization).
  absl::StatusOr<Introspection> IntrospectIn(absl::string_view token, absl::string_view secret,
                                             const CallContext& call,
                                             const std::string* visible_org);

  CredentialCheck& checks_;
  IntrospectionPolicy policy_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_INTROSPECTION_LOGIC_H_
