#include "core/credentials.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/encoding.h"

namespace tessera {

std::string NewRefreshToken() { return absl::StrCat("rt_", RandomHex(32)); }

bool IsRefreshTokenFormat(absl::string_view token) {
  return token.size() == 67 && absl::StartsWith(token, "rt_") && IsLowerHex(token.substr(3));
}

std::string NewGeneratedPassword() { return Base64UrlEncode(RandomBytes(32)); }

std::string NewJti() { return RandomHex(16); }

}  // namespace tessera
