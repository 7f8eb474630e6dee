// Refusal: why the logic refused a credential, carried on the absl::Status it returns (as a
// payload that is never sent), so that each face counts tessera_auth_failures_total{reason} in
// one place from the status alone, whatever call produced it.
//
//   return MarkRefused(absl::UnauthenticatedError("invalid refresh token"),
//                      RefusalReason::kInvalidRefreshToken);
//   ...
//   metrics.Refused(status);  // at the face: locked_out, the marked reason, or nothing
#ifndef TESSERA_SERVICES_REFUSAL_H_
#define TESSERA_SERVICES_REFUSAL_H_

#include <optional>

#include "absl/status/status.h"

namespace tessera {

enum class RefusalReason {
  kInvalidCredentials,   // a login: password, API key or service token
  kInvalidRefreshToken,  // a refresh token that is not live
  kInvalidBearer,        // the caller's own credential on an authenticated call
};

// `status` with `reason` attached. `reused` marks a spent refresh token presented again.
absl::Status MarkRefused(absl::Status status, RefusalReason reason, bool reused = false);
// The reason the logic attached; nullopt when the status is not a marked refusal.
std::optional<RefusalReason> RefusalOf(const absl::Status& status);
bool IsRefreshReuse(const absl::Status& status);

}  // namespace tessera

#endif  // TESSERA_SERVICES_REFUSAL_H_
