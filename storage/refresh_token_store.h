// RefreshTokenStore: refresh-token families (one per login), stored as digests only.
#ifndef TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_
#define TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "storage/records.h"

namespace tessera {

class RefreshTokenStore {
 public:
  virtual ~RefreshTokenStore() = default;
  // Starts a family with its first token; returns the family ID.
  virtual absl::StatusOr<std::string> CreateFamily(const RefreshTokenRow& token,
                                                   AuditEntry audit) = 0;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_REFRESH_TOKEN_STORE_H_
