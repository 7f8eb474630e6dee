// Formats of the opaque credentials tessera hands out, and their generation from the CSPRNG.
#ifndef TESSERA_CORE_CREDENTIALS_H_
#define TESSERA_CORE_CREDENTIALS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tessera {

// A refresh token: "rt_" + 64 lowercase hex (256 random bits).
std::string NewRefreshToken();
bool IsRefreshTokenFormat(absl::string_view token);

// A generated password for service accounts: 32 random bytes, base64url (43 characters).
std::string NewGeneratedPassword();

// A random (version 4) UUID in canonical lowercase form.
std::string NewUuid();

// A token ID (`jti`): 128 random bits as 32 lowercase hex.
std::string NewJti();

}  // namespace tessera

#endif  // TESSERA_CORE_CREDENTIALS_H_
