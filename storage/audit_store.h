// AuditStore: the audit events that are not part of another write (failed authentications), and
// reading the log back. Writes append their own audit rows inside their own transactions.
#ifndef TESSERA_STORAGE_AUDIT_STORE_H_
#define TESSERA_STORAGE_AUDIT_STORE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "storage/records.h"

namespace tessera {

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  virtual absl::Status Append(AuditEntry entry) = 0;
  // The org's events, newest first, older than `before_id` (0 = from the newest), optionally
  // only those with `action` and/or `actor_id` (empty = any).
  virtual absl::StatusOr<std::vector<AuditEvent>> List(absl::string_view org_id, int limit,
                                                       int64_t before_id,
                                                       absl::string_view action = "",
                                                       absl::string_view actor_id = "") = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_AUDIT_STORE_H_
