// Authority: the one rule every call that grants, assigns, resets or mints follows — no call
// leaves a role, an account or a credential with more authority than its caller holds — and the
// scope names the calls check, in one place.
//
//   if (auto s = RequireScope(caller, kScopeAccountsWrite); !s.ok()) return s;
//   if (auto s = RequireAuthorityOver(caller, *target, "account_id"); !s.ok()) return s;
//
// Who may do what:
// - creating or assigning (or unassigning) a role needs every scope of that role; creating an
//   account with roles, every scope of those roles (RequireHeld);
// - acting on an account — rotating its password, creating a key for it or rotating one's
//   secret, disabling it, revoking another account's sessions, tokens or keys — needs every
//   scope that account holds now (RequireAuthorityOver), so an `admin` can act on anyone in its
//   organization and nobody below it can act on an `admin`;
// - every call stays in the caller's organization (the logic looks targets up there only); a
//   platform organization's admin alone creates organizations and rotates signing keys.
#ifndef TESSERA_SERVICES_AUTHORITY_H_
#define TESSERA_SERVICES_AUTHORITY_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/scopes.h"
#include "services/auth_snapshot.h"
#include "services/principal.h"
#include "storage/records.h"

namespace tessera {

// The scopes tessera's own calls need (README, "Authorization"). `admin` grants every one.
inline constexpr absl::string_view kScopeAccountsRead = "accounts:read";
inline constexpr absl::string_view kScopeAccountsWrite = "accounts:write";
inline constexpr absl::string_view kScopeRolesWrite = "roles:write";
inline constexpr absl::string_view kScopeApiKeysRead = "api_keys:read";
inline constexpr absl::string_view kScopeApiKeysWrite = "api_keys:write";
inline constexpr absl::string_view kScopeTokensRevoke = "tokens:revoke";
inline constexpr absl::string_view kScopeTokensIntrospect = "tokens:introspect";
inline constexpr absl::string_view kScopeAuditRead = "audit:read";

// PERMISSION_DENIED unless `caller` holds `scope` (or admin).
absl::Status RequireScope(const Principal& caller, absl::string_view scope);

// PERMISSION_DENIED, naming `field` and the first missing scope, unless `caller` holds every
// scope of `wanted`: what a role, or a credential's explicit scopes, would grant.
absl::Status RequireHeld(const Principal& caller, const ScopeSet& wanted, absl::string_view field);

// PERMISSION_DENIED, naming `field`, unless `caller` holds every scope `target` holds now. The
// answer does not say which scope is missing: the caller may not be able to read the target.
absl::Status RequireAuthorityOver(const Principal& caller, const AccountPermissions& target,
                                  absl::string_view field);

// RequireAuthorityOver for the account `account_id` of the caller's organization, as this
// replica's snapshot has it now (the replica applies its own writes before it answers them).
// NOT_FOUND naming `field` when the organization has no such account.
absl::Status RequireAuthorityOver(const AuthSnapshot& snapshot, const Principal& caller,
                                  absl::string_view account_id, absl::string_view field);

// A platform organization's admin: the only caller whose authority reaches past its own
// organization (creating organizations, rotating the service's signing keys).
bool IsPlatformAdmin(const Principal& caller);

}  // namespace tessera

#endif  // TESSERA_SERVICES_AUTHORITY_H_
