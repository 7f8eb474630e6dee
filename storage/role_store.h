// RoleStore: named scope sets within one organization.
#ifndef TESSERA_STORAGE_ROLE_STORE_H_
#define TESSERA_STORAGE_ROLE_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

class RoleStore {
 public:
  virtual ~RoleStore() = default;
  // ALREADY_EXISTS when the org has a role of that name.
  virtual absl::StatusOr<Role> Create(absl::string_view org_id, absl::string_view name,
                                      const ScopeSet& scopes, absl::Time now, AuditActor actor,
                                      Committed* committed) = 0;
  // The roles of the org with these names (valid role names, which have no spaces); a name the
  // org has no role of is left out.
  virtual absl::StatusOr<std::vector<Role>> FindByNames(absl::string_view org_id,
                                                        const std::vector<std::string>& names) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_ROLE_STORE_H_
