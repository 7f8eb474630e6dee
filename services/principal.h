// Who is calling, and from where: what the authenticator derives from a request's credential,
// and the request facts (ID, peer) that go into audit rows and logs.
#ifndef TESSERA_SERVICES_PRINCIPAL_H_
#define TESSERA_SERVICES_PRINCIPAL_H_

#include <string>

#include "core/scopes.h"
#include "storage/records.h"

namespace tessera {

struct Principal {
  std::string org_id;
  std::string account_id;
  std::string client_id;
  std::string username;
  // What the credential grants right now: its scopes intersected with the account's current
  // permissions.
  ScopeSet scopes;
  // An admin of a platform organization (may create organizations).
  bool platform = false;
};

struct RequestMeta {
  std::string request_id;
  std::string peer;
};

// An audit row by `caller` at `at`, for the store to complete with its action and target.
inline AuditEntry AuditBy(const Principal& caller, const RequestMeta& meta, absl::Time at) {
  return AuditEntry{.org_id = caller.org_id,
                    .at = at,
                    .actor_id = caller.account_id,
                    .peer = meta.peer,
                    .request_id = meta.request_id};
}

}  // namespace tessera

#endif  // TESSERA_SERVICES_PRINCIPAL_H_
