// Fuzzes the parsers of the opaque credentials and their encodings: API keys (prefix and
// display prefix), service-token secrets, refresh tokens, base64url and hex, and the scope
// grammar, and account names (core/names.h). Each accepted input is checked against what the
// format promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/credentials.h"
#include "core/encoding.h"
#include "core/names.h"
#include "core/scopes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  absl::string_view prefix = tessera::ApiKeyPrefix(in);
  if (!prefix.empty()) {
    // A well-formed key: a valid prefix, an underscore and 64 lowercase hex digits.
    if (!tessera::IsValidApiKeyPrefix(prefix)) __builtin_trap();
    if (in.size() != prefix.size() + 65 || in[prefix.size()] != '_') __builtin_trap();
    if (!tessera::IsLowerHex(in.substr(prefix.size() + 1))) __builtin_trap();
    std::string shown = tessera::ApiKeyDisplayPrefix(in);
    if (shown.size() != prefix.size() + 9 || in.substr(0, shown.size()) != shown) __builtin_trap();
  }
  if (tessera::IsRefreshTokenFormat(in) && !tessera::ApiKeyPrefix(in).empty()) __builtin_trap();
  if (tessera::IsApiSecretFormat(in) && in.size() != 64) __builtin_trap();
  if (auto decoded = tessera::Base64UrlDecode(in)) {
    if (tessera::Base64UrlEncode(*decoded) != in) __builtin_trap();  // canonical only
  }
  if (auto decoded = tessera::HexDecode(in)) {
    if (decoded->size() * 2 != in.size()) __builtin_trap();
  }
  if (tessera::IsValidScope(in)) {
    if (in.empty() || in.find(' ') != absl::string_view::npos) __builtin_trap();
  }
  if (auto name = tessera::CanonicalName(in); name.ok()) {
    // A canonical name is valid UTF-8, canonical again as it is, and keyed stably.
    if (!tessera::IsValidUtf8(*name) || *tessera::CanonicalName(*name) != *name) __builtin_trap();
    std::string key = tessera::NameKey(*name);
    if (!tessera::IsValidUtf8(key) || tessera::NameKey(key) != key) __builtin_trap();
  }
  (void)tessera::ConstantTimeEquals(in, in.substr(in.size() / 2));
  return 0;
}
