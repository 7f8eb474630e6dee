// Who is calling: what caller authentication derives from a call's credential, and the audit row
// such a caller's writes start from.
#ifndef TESSERA_SERVICES_PRINCIPAL_H_
#define TESSERA_SERVICES_PRINCIPAL_H_

#include <string>

#include "core/scopes.h"
#include "services/call_context.h"
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

// `caller` acting at `at` in `call`: what a write's audit row is built from (by its store).
inline AuditActor AuditBy(const Principal& caller, const CallContext& call, absl::Time at) {
  return AuditActor{.org_id = caller.org_id,
                    .at = at,
                    .actor_id = caller.account_id,
                    .peer = call.peer,
                    .request_id = call.request_id};
}

}  // namespace tessera

#endif  // TESSERA_SERVICES_PRINCIPAL_H_
