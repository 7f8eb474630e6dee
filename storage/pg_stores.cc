// MakePgStores: every PostgreSQL store over one pool (each store is in a storage/pg_*_store.cc
// of its own).
#include "storage/pg_stores.h"

namespace tessera {

Stores MakePgStores(PgPool& pool, const GroupCommitOptions& group_commit) {
  Stores s;
  s.orgs = MakePgOrganizationStore(pool);
  s.accounts = MakePgAccountStore(pool);
  s.roles = MakePgRoleStore(pool);
  s.signing_keys = MakePgSigningKeyStore(pool);
  s.refresh_tokens = MakePgRefreshTokenStore(pool, group_commit);
  s.audit = MakePgAuditStore(pool);
  s.revocations = MakePgRevocationStore(pool, group_commit);
  s.api_keys = MakePgApiKeyStore(pool);
  s.throttle = MakePgThrottleStore(pool);
  return s;
}

}  // namespace tessera
