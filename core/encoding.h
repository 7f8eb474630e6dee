// Byte-level helpers shared by the credential formats: base64url (RFC 4648 §5, unpadded, as JOSE
// uses it), lowercase hex, CSPRNG bytes, and constant-time comparison for secrets.
#ifndef TESSERA_CORE_ENCODING_H_
#define TESSERA_CORE_ENCODING_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tessera {

std::string Base64UrlEncode(absl::string_view bytes);
// Strict: rejects padding, whitespace and characters outside the URL-safe alphabet.
std::optional<std::string> Base64UrlDecode(absl::string_view text);

std::string HexEncode(absl::string_view bytes);
std::optional<std::string> HexDecode(absl::string_view text);
bool IsLowerHex(absl::string_view text);

// `n` bytes from OpenSSL's CSPRNG. Aborts if the CSPRNG fails: no credential may be made without
// it.
std::string RandomBytes(size_t n);
// 2*n lowercase hex characters encoding n random bytes.
std::string RandomHex(size_t n);

// Compares without an early exit, so the time taken does not reveal where two secrets differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace tessera

#endif  // TESSERA_CORE_ENCODING_H_
