#include "services/rotation_logic.h"

#include "core/credentials.h"
#include "services/authority.h"
#include "services/validation.h"

namespace tessera {

RotationLogic::RotationLogic(const Clock& clock, RotationOptions options,
                             const PasswordHasher& hasher, BoundedWorkerPool& password_pool,
                             AccountStore& accounts, ApiKeyLogic& api_keys, KeyManager& keys,
                             AuthSnapshot& snapshot)
    : clock_(clock),
      options_(options),
      hasher_(hasher),
      password_pool_(password_pool),
      accounts_(accounts),
      api_keys_(api_keys),
      keys_(keys),
      snapshot_(snapshot) {}

absl::StatusOr<Rotation> RotationLogic::ServiceAccountPassword(const Principal& caller,
                                                               const CallContext& call,
                                                               absl::string_view account_id) {
  if (auto s = CheckId("service_account_password.account_id", account_id); !s.ok()) return s;
  if (auto s = RequireScope(caller, kScopeAccountsWrite); !s.ok()) return s;
  // The new password is the account's whole authority.
  if (auto s = RequireAuthorityOver(snapshot_, caller, account_id,
                                    "service_account_password.account_id");
      !s.ok()) {
    return s;
  }
  Rotation out{.new_password = NewGeneratedPassword()};
  auto hash = password_pool_.Run<absl::StatusOr<std::string>>(
      [&] { return hasher_.Hash(out.new_password); });
  if (!hash.ok()) return hash.status();
  if (!hash->ok()) return hash->status();
  auto s = snapshot_.AfterCommit([&](Committed* c) {
    return accounts_.RotatePassword(caller.org_id, account_id, **hash, clock_.Now(),
                                    AuditBy(caller, call, clock_.Now()), c);
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<Rotation> RotationLogic::ServiceTokenSecret(const Principal& caller,
                                                           const CallContext& call,
                                                           absl::string_view api_key_id,
                                                           int64_t overlap_seconds) {
  auto rotated = api_keys_.RotateSecret(caller, call, api_key_id, overlap_seconds);
  if (!rotated.ok()) return rotated.status();
  return Rotation{.new_secret = std::move(rotated->secret),
                  .previous_valid_until = rotated->previous_valid_until};
}

absl::StatusOr<Rotation> RotationLogic::SigningKey(const Principal& caller,
                                                   const CallContext& call) {
  if (!IsPlatformAdmin(caller)) {
    return absl::PermissionDeniedError(
        "signing_key: signing keys are the service's own; only a platform organization's admin "
        "may rotate them");
  }
  auto rotated = keys_.Rotate(options_.publish_delay, options_.verify_tail,
                              AuditBy(caller, call, clock_.Now()));
  if (!rotated.ok()) return rotated.status();
  // The replaced keys sign until the new one activates and verify (stay in the JWKS) until:
  return Rotation{.kid = rotated->kid,
                  .previous_valid_until = rotated->activates_at + options_.verify_tail};
}

}  // namespace tessera
