// AdminLogic: what AdminService does, free of gRPC. Every method acts inside the caller's
// organization (taken from the Principal, never from the request), checks the scope it needs,
// and writes through stores that append the audit row in the same transaction.
//
// Scopes: accounts:read (GetAccount, ListAccounts), accounts:write (CreateAccount,
// DisableAccount), roles:write (CreateRole, AssignRole, UnassignRole), audit:read
// (ListAuditEvents); `admin` grants all. Beyond the scope, no call leaves a role or an account
// with more than the caller holds (services/authority.h): a role's scopes, an account's roles,
// and the account being disabled must all be within the caller's own.
// CreateOrganization needs `admin` in a platform organization.
#ifndef TESSERA_SERVICES_ADMIN_LOGIC_H_
#define TESSERA_SERVICES_ADMIN_LOGIC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/password_hasher.h"
#include "core/worker_pool.h"
#include "services/auth_snapshot.h"
#include "services/authority.h"
#include "services/principal.h"
#include "storage/account_store.h"
#include "storage/audit_store.h"
#include "storage/organization_store.h"
#include "storage/role_store.h"

namespace tessera {

struct CreateAccountInput {
  AccountKind kind = AccountKind::kUser;
  std::string username;
  std::string email;
  std::string password;
  std::vector<std::string> roles;
};

struct CreatedAccount {
  Account account;
  std::string generated_password;  // SERVICE accounts only, returned this once
};

struct CreatedOrg {
  Organization org;
  std::optional<Account> admin;
  std::string admin_password;
};

class AdminLogic {
 public:
  AdminLogic(const Clock& clock, const PasswordHasher& hasher, BoundedWorkerPool& password_pool,
             OrganizationStore& orgs, AccountStore& accounts, RoleStore& roles, AuditStore& audit,
             AuthSnapshot& snapshot);

  absl::StatusOr<CreatedOrg> CreateOrganization(const Principal& caller, const CallContext& call,
                                                const std::string& slug, const std::string& name,
                                                const std::string& admin_username);
  absl::StatusOr<CreatedAccount> CreateAccount(const Principal& caller, const CallContext& call,
                                               const CreateAccountInput& in);
  absl::StatusOr<Account> GetAccount(const Principal& caller, const std::string& account_id);
  absl::StatusOr<AccountPage> ListAccounts(const Principal& caller, int page_size,
                                           const std::string& page_token);
  absl::StatusOr<Account> DisableAccount(const Principal& caller, const CallContext& call,
                                         const std::string& account_id);
  absl::StatusOr<Role> CreateRole(const Principal& caller, const CallContext& call,
                                  const std::string& name, const std::vector<std::string>& scopes);
  absl::Status AssignRole(const Principal& caller, const CallContext& call,
                          const std::string& account_id, const std::string& role);
  absl::Status UnassignRole(const Principal& caller, const CallContext& call,
                            const std::string& account_id, const std::string& role);

  struct AuditPage {
    std::vector<AuditEvent> events;
    std::string next_page_token;  // empty: last page
  };
  // Needs audit:read. Newest first; `page_token` is the previous page's next_page_token.
  absl::StatusOr<AuditPage> ListAuditEvents(const Principal& caller, int page_size,
                                            const std::string& page_token,
                                            const std::string& action, const std::string& actor_id);

  absl::StatusOr<Organization> CallerOrganization(const Principal& caller);

 private:
  // `caller` acting now, for the store that writes (and audits) what the call asked.
  AuditActor Actor(const Principal& caller, const CallContext& call) const;
  absl::StatusOr<std::string> HashOnPool(const std::string& password);
  // PERMISSION_DENIED unless the caller holds every scope of the named roles of its org;
  // NOT_FOUND naming `field` and the first name the org has no role of.
  absl::Status RequireRolesHeld(const Principal& caller, const std::vector<std::string>& names,
                                absl::string_view field);

  const Clock& clock_;
  const PasswordHasher& hasher_;
  BoundedWorkerPool& password_pool_;
  OrganizationStore& orgs_;
  AccountStore& accounts_;
  RoleStore& roles_;
  AuditStore& audit_;
  AuthSnapshot& snapshot_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_ADMIN_LOGIC_H_
