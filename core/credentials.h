// Formats of the opaque credentials tessera hands out, and their generation from the CSPRNG.
#ifndef TESSERA_CORE_CREDENTIALS_H_
#define TESSERA_CORE_CREDENTIALS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// A refresh token: "rt_" + 64 lowercase hex (256 random bits).
std::string NewRefreshToken();
bool IsRefreshTokenFormat(absl::string_view token);

// An API key: "<prefix>_" + 64 lowercase hex (256 random bits). A prefix is 1 to 16 lowercase
// letters and digits ("rt" is taken by refresh tokens); it tells a user API token (default "tsr")
// from a service token (default "tss") at a glance and to secret scanners.
bool IsValidApiKeyPrefix(absl::string_view prefix);
std::string NewApiKey(absl::string_view prefix);
// The prefix of a well-formed API key; empty when `key` is not one.
absl::string_view ApiKeyPrefix(absl::string_view key);
// What listings show of a key: its prefix, the underscore and 8 hex digits (32 of its 256 bits).
std::string ApiKeyDisplayPrefix(absl::string_view key);

// A service-token secret: 64 lowercase hex (256 random bits).
std::string NewApiSecret();
bool IsApiSecretFormat(absl::string_view secret);

// A generated password for service accounts: 32 random bytes, base64url (43 characters).
std::string NewGeneratedPassword();

// The credential of an `authorization` metadata value "Bearer <credential>" (scheme
// case-insensitive, surrounding spaces ignored). UNAUTHENTICATED, saying what is wrong, for
// anything else: a missing value, another scheme, an empty credential, control characters.
absl::StatusOr<absl::string_view> BearerCredential(absl::string_view authorization);

// A random (version 4) UUID in canonical lowercase form.
std::string NewUuid();

// A token ID (`jti`): 128 random bits as 32 lowercase hex.
std::string NewJti();

}  // namespace tessera

#endif  // TESSERA_CORE_CREDENTIALS_H_
