// Applies the embedded migrations under a PostgreSQL advisory lock, so that replicas starting
// together (or a migrate Job racing a rollout) apply each migration exactly once.
#ifndef TESSERA_STORAGE_MIGRATOR_H_
#define TESSERA_STORAGE_MIGRATOR_H_

#include <string>

#include "absl/status/statusor.h"

namespace tessera {

// Returns how many migrations this call applied (0 when the schema was current).
absl::StatusOr<int> MigrateDatabase(const std::string& url);

}  // namespace tessera

#endif  // TESSERA_STORAGE_MIGRATOR_H_
