// The PostgreSQL implementations of every store, over one PgPool. server/ wires these in;
// nothing else needs to know they are PostgreSQL.
#ifndef TESSERA_STORAGE_PG_STORES_H_
#define TESSERA_STORAGE_PG_STORES_H_

#include <memory>

#include "storage/account_store.h"
#include "storage/api_key_store.h"
#include "storage/audit_store.h"
#include "storage/change_feed.h"
#include "storage/organization_store.h"
#include "storage/pg_pool.h"
#include "storage/refresh_token_store.h"
#include "storage/revocation_store.h"
#include "storage/role_store.h"
#include "storage/signing_key_store.h"
#include "storage/snapshot_store.h"
#include "storage/throttle_store.h"

namespace tessera {

struct Stores {
  std::unique_ptr<OrganizationStore> orgs;
  std::unique_ptr<AccountStore> accounts;
  std::unique_ptr<RoleStore> roles;
  std::unique_ptr<SigningKeyStore> signing_keys;
  std::unique_ptr<RefreshTokenStore> refresh_tokens;
  std::unique_ptr<AuditStore> audit;
  std::unique_ptr<RevocationStore> revocations;
  std::unique_ptr<ApiKeyStore> api_keys;
  std::unique_ptr<ThrottleStore> throttle;
};

// The stores keep a reference to `pool`, which must outlive them. A write hands its committed
// changes back to its caller (Committed), never to a snapshot of its own accord.
Stores MakePgStores(PgPool& pool, const GroupCommitOptions& group_commit = {});

std::unique_ptr<OrganizationStore> MakePgOrganizationStore(PgPool& pool);
std::unique_ptr<AccountStore> MakePgAccountStore(PgPool& pool);
std::unique_ptr<RoleStore> MakePgRoleStore(PgPool& pool);
std::unique_ptr<SigningKeyStore> MakePgSigningKeyStore(PgPool& pool);
std::unique_ptr<AuditStore> MakePgAuditStore(PgPool& pool);
std::unique_ptr<ApiKeyStore> MakePgApiKeyStore(PgPool& pool);
std::unique_ptr<RefreshTokenStore> MakePgRefreshTokenStore(PgPool& pool,
                                                           const GroupCommitOptions& options = {});
std::unique_ptr<RevocationStore> MakePgRevocationStore(PgPool& pool,
                                                       const GroupCommitOptions& options = {});
std::unique_ptr<ThrottleStore> MakePgThrottleStore(PgPool& pool);

// The snapshot's reads; separate from Stores, which the logic writes through.
std::unique_ptr<SnapshotStore> MakePgSnapshotStore(PgPool& pool);

}  // namespace tessera

#endif  // TESSERA_STORAGE_PG_STORES_H_
