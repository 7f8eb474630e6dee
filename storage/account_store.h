// AccountStore: accounts of one organization, their roles, and what they may do. Every method
// takes the caller's org_id first and never reads or writes another organization's rows.
#ifndef TESSERA_STORAGE_ACCOUNT_STORE_H_
#define TESSERA_STORAGE_ACCOUNT_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

struct NewAccount {
  std::string org_id;
  AccountKind kind = AccountKind::kUser;
  std::string username;
  std::string email;
  std::string password_hash;
  std::vector<std::string> roles;  // names; each must exist in the org (NOT_FOUND otherwise)
  absl::Time now;
};

struct AccountPage {
  std::vector<Account> accounts;
  std::string next_after_id;  // empty: last page
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  virtual absl::StatusOr<Account> Create(const NewAccount& account, AuditActor actor,
                                         Committed* committed) = 0;
  virtual absl::StatusOr<Account> Get(absl::string_view org_id, absl::string_view account_id) = 0;
  // Accounts ordered by id, starting after `after_id`.
  virtual absl::StatusOr<AccountPage> List(absl::string_view org_id, int limit,
                                           absl::string_view after_id) = 0;
  virtual absl::StatusOr<Account> Disable(absl::string_view org_id, absl::string_view account_id,
                                          absl::Time now, AuditActor actor,
                                          Committed* committed) = 0;
  // NOT_FOUND when the account or the role does not exist in the org. Assigning a role already
  // held, or unassigning one not held, succeeds and writes nothing.
  virtual absl::Status AssignRole(absl::string_view org_id, absl::string_view account_id,
                                  absl::string_view role, absl::Time now, AuditActor actor,
                                  Committed* committed) = 0;
  virtual absl::Status UnassignRole(absl::string_view org_id, absl::string_view account_id,
                                    absl::string_view role, absl::Time now, AuditActor actor,
                                    Committed* committed) = 0;

  // Replaces a service account's password and revokes its refresh families, so the old
  // password and the sessions it opened stop at once. NOT_FOUND for an unknown account,
  // FAILED_PRECONDITION for a user account (people choose their own passwords).
  virtual absl::Status RotatePassword(absl::string_view org_id, absl::string_view account_id,
                                      const std::string& password_hash, absl::Time now,
                                      AuditActor actor, Committed* committed) = 0;

  // Finds the account for a password login by org slug and username or email. NOT_FOUND when
  // either is unknown.
  virtual absl::StatusOr<LoginCandidate> FindForLogin(absl::string_view org_slug,
                                                      absl::string_view username_or_email) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_ACCOUNT_STORE_H_
