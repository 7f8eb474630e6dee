// MakePgStores: every PostgreSQL store over one pool (each store is in a storage/pg_*_store.cc
// of its own).
#include "storage/pg_stores.h"

namespace tessera {

Stores MakePgStores(PgPool& pool, ChangeSink* local) {
  Stores s;
  s.orgs = MakePgOrganizationStore(pool, local);
  s.accounts = MakePgAccountStore(pool, local);
  s.roles = MakePgRoleStore(pool);
  s.signing_keys = MakePgSigningKeyStore(pool, local);
  s.refresh_tokens = MakePgRefreshTokenStore(pool, local);
  s.audit = MakePgAuditStore(pool);
  s.revocations = MakePgRevocationStore(pool, local);
  s.api_keys = MakePgApiKeyStore(pool, local);
  s.throttle = MakePgThrottleStore(pool, local);
  return s;
}

}  // namespace tessera
