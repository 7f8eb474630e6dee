#include "core/credentials.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/encoding.h"

namespace tessera {

std::string NewRefreshToken() { return absl::StrCat("rt_", RandomHex(32)); }

bool IsRefreshTokenFormat(absl::string_view token) {
  return token.size() == 67 && absl::StartsWith(token, "rt_") && IsLowerHex(token.substr(3));
}

bool IsValidApiKeyPrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix.size() > 16 || prefix == "rt") return false;
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string NewApiKey(absl::string_view prefix) { return absl::StrCat(prefix, "_", RandomHex(32)); }

absl::string_view ApiKeyPrefix(absl::string_view key) {
  size_t sep = key.find('_');
  if (sep == absl::string_view::npos || key.size() != sep + 1 + 64) return {};
  absl::string_view prefix = key.substr(0, sep);
  if (!IsValidApiKeyPrefix(prefix) || !IsLowerHex(key.substr(sep + 1))) return {};
  return prefix;
}

std::string ApiKeyDisplayPrefix(absl::string_view key) {
  size_t sep = key.find('_');
  return std::string(key.substr(0, sep == absl::string_view::npos ? 0 : sep + 1 + 8));
}

std::string NewApiSecret() { return RandomHex(32); }

bool IsApiSecretFormat(absl::string_view secret) {
  return secret.size() == 64 && IsLowerHex(secret);
}

absl::StatusOr<absl::string_view> BearerCredential(absl::string_view authorization) {
  if (authorization.empty()) return absl::UnauthenticatedError("missing authorization metadata");
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  }
  absl::string_view credential = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (credential.empty()) return absl::UnauthenticatedError("empty bearer credential");
  for (char c : credential) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return absl::UnauthenticatedError("bearer credential has spaces or control characters");
    }
  }
  return credential;
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
