// Input checks shared by the services. Each failure is INVALID_ARGUMENT naming the field, so a
// caller can fix the request without guessing.
#ifndef TESSERA_SERVICES_VALIDATION_H_
#define TESSERA_SERVICES_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/scopes.h"

namespace tessera {

// Non-empty (when `required`), at most `max` bytes, valid UTF-8 without control characters.
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max,
                       bool required = true);
// A name for an account (a username, or an email used as one): CheckText's limits, and
// core/names.h's rules. Returns the name in NFC, the form to store.
absl::StatusOr<std::string> CheckName(absl::string_view field, absl::string_view value, size_t max,
                                      bool required = true);
// An organization slug: [a-z0-9][a-z0-9-]{0,62}.
absl::Status CheckSlug(absl::string_view field, absl::string_view value);
// A role name: 1 to 64 of [a-z0-9_.:-], starting with a letter or digit.
absl::Status CheckRoleName(absl::string_view field, absl::string_view value);
// An opaque ID as tessera issues them (a UUID in canonical form).
absl::Status CheckId(absl::string_view field, absl::string_view value);
// Each scope valid per the grammar; at most 100 of them.
absl::StatusOr<ScopeSet> ParseScopes(absl::string_view field,
                                     const std::vector<std::string>& scopes);

}  // namespace tessera

#endif  // TESSERA_SERVICES_VALIDATION_H_
