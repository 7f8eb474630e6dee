// The PostgreSQL implementations of every store, over one PgPool. server/ wires these in;
// nothing else needs to know they are PostgreSQL.
#ifndef TESSERA_STORAGE_PG_STORES_H_
#define TESSERA_STORAGE_PG_STORES_H_

#include <memory>

#include "storage/account_store.h"
#include "storage/audit_store.h"
#include "storage/organization_store.h"
#include "storage/pg_pool.h"
#include "storage/refresh_token_store.h"
#include "storage/revocation_store.h"
#include "storage/role_store.h"
#include "storage/signing_key_store.h"

namespace tessera {

struct Stores {
  std::unique_ptr<OrganizationStore> orgs;
  std::unique_ptr<AccountStore> accounts;
  std::unique_ptr<RoleStore> roles;
  std::unique_ptr<SigningKeyStore> signing_keys;
  std::unique_ptr<RefreshTokenStore> refresh_tokens;
  std::unique_ptr<AuditStore> audit;
  std::unique_ptr<RevocationStore> revocations;
};

// The stores keep a reference to `pool`, which must outlive them.
Stores MakePgStores(PgPool& pool);

}  // namespace tessera

#endif  // TESSERA_STORAGE_PG_STORES_H_
