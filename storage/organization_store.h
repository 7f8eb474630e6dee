// OrganizationStore: the tenants. Creating one is the only write that is not already inside an
// organization; bootstrap creates the first one with its admin in one transaction.
#ifndef TESSERA_STORAGE_ORGANIZATION_STORE_H_
#define TESSERA_STORAGE_ORGANIZATION_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

// What bootstrap and CreateOrganization with an admin create together.
struct NewOrganizationWithAdmin {
  std::string slug;
  std::string name;
  bool platform = false;
  std::string admin_username;  // empty: no admin account
  std::string admin_password_hash;
  absl::Time now;
};

struct CreatedOrganization {
  Organization org;
  std::optional<Account> admin;
  bool created = true;  // false: bootstrap found it already there and changed nothing
};

class OrganizationStore {
 public:
  virtual ~OrganizationStore() = default;

  // Creates the organization, and when asked an `admin` role holding scope `admin` plus a
  // SERVICE account with that role, with the audit rows, in one transaction. ALREADY_EXISTS if
  // the slug is taken.
  virtual absl::StatusOr<CreatedOrganization> Create(const NewOrganizationWithAdmin& req,
                                                     AuditActor actor, Committed* committed) = 0;
  // Idempotent form for `tessera bootstrap`: when the slug exists, returns it with
  // created=false and writes nothing. Safe to run from two processes at once.
  virtual absl::StatusOr<CreatedOrganization> Bootstrap(const NewOrganizationWithAdmin& req,
                                                        AuditActor actor, Committed* committed) = 0;
  virtual absl::StatusOr<Organization> Get(absl::string_view org_id) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_ORGANIZATION_STORE_H_
