// RotationLogic: TokenService.Rotate, free of gRPC. A service account's password (a new one
// returned once; the old one and its sessions stop at once), a service token's secret (the old
// one overlaps for as long as the caller asks), or the signing key (published before it signs).
// Every rotation is audited; no secret goes into a log or an audit row.
#ifndef TESSERA_SERVICES_ROTATION_LOGIC_H_
#define TESSERA_SERVICES_ROTATION_LOGIC_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/password_hasher.h"
#include "core/worker_pool.h"
#include "services/api_key_logic.h"
#include "services/auth_snapshot.h"
#include "services/key_manager.h"
#include "services/principal.h"
#include "storage/account_store.h"

namespace tessera {

struct RotationOptions {
  absl::Duration publish_delay = absl::Minutes(5);
  // How long a replaced signing key keeps verifying after it stops signing.
  absl::Duration verify_tail = absl::Seconds(900 + 10);
};

struct Rotation {
  std::string new_password;
  std::string new_secret;
  std::string kid;
  absl::Time previous_valid_until = absl::UnixEpoch();  // the epoch: "stopped at once"
};

class RotationLogic {
 public:
  RotationLogic(const Clock& clock, RotationOptions options, const PasswordHasher& hasher,
                BoundedWorkerPool& password_pool, AccountStore& accounts, ApiKeyLogic& api_keys,
                KeyManager& keys, AuthSnapshot& snapshot);

  // Needs accounts:write and every scope the account holds, in the caller's organization.
  absl::StatusOr<Rotation> ServiceAccountPassword(const Principal& caller, const CallContext& call,
                                                  absl::string_view account_id);
  // The key's own account, or api_keys:write.
  absl::StatusOr<Rotation> ServiceTokenSecret(const Principal& caller, const CallContext& call,
                                              absl::string_view api_key_id,
                                              int64_t overlap_seconds);
  // Signing keys belong to the whole service: `admin` of a platform organization only.
  absl::StatusOr<Rotation> SigningKey(const Principal& caller, const CallContext& call);

 private:
  const Clock& clock_;
  RotationOptions options_;
  const PasswordHasher& hasher_;
  BoundedWorkerPool& password_pool_;
  AccountStore& accounts_;
  ApiKeyLogic& api_keys_;
  KeyManager& keys_;
  AuthSnapshot& snapshot_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_ROTATION_LOGIC_H_
