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

std::string NewUuid() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string h = HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

}  // namespace tessera
