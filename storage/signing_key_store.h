// SigningKeyStore: the service's JWS keys (private parts sealed by the caller before storing).
#ifndef TESSERA_STORAGE_SIGNING_KEY_STORE_H_
#define TESSERA_STORAGE_SIGNING_KEY_STORE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "storage/change_feed.h"
#include "storage/records.h"

namespace tessera {

class SigningKeyStore {
 public:
  virtual ~SigningKeyStore() = default;
  virtual absl::StatusOr<std::vector<SigningKeyRecord>> List() = 0;
  // Inserts `key` only if no key is active at `key.created_at`, atomically across replicas that
  // start together, and returns the keys as they are after. Used at first start.
  virtual absl::StatusOr<std::vector<SigningKeyRecord>> EnsureActiveKey(const SigningKeyRecord& key,
                                                                        AuditActor actor,
                                                                        Committed* committed) = 0;
  // Adds `key` (which activates later) and retires every unretired key when it activates;
  // those keep verifying until `previous_verify_until`. Returns the keys as they are after.
  virtual absl::StatusOr<std::vector<SigningKeyRecord>> Rotate(const SigningKeyRecord& key,
                                                               absl::Time previous_verify_until,
                                                               AuditActor actor,
                                                               Committed* committed) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_SIGNING_KEY_STORE_H_
