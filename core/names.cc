#include "core/names.h"

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tessera {
namespace {

const uint8_t* Bytes(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Copies out and frees a buffer libunistring allocated with malloc.
std::string Take(uint8_t* buffer, size_t length) {
  std::unique_ptr<uint8_t, decltype(&std::free)> owned(buffer, &std::free);
  return std::string(reinterpret_cast<const char*>(buffer), length);
}

// Why `c` may not appear in a name, or nullptr if it may.
const char* Refused(ucs4_t c) {
  if (c == ' ') return nullptr;  // inner ASCII spaces are checked by position below
  if (uc_is_general_category(c, UC_CATEGORY_Cc)) return "a control character";
  if (uc_is_general_category(c, UC_CATEGORY_Cf)) return "an invisible format character";
  if (uc_is_property_default_ignorable_code_point(c)) return "an invisible character";
  if (uc_is_general_category(c, UC_CATEGORY_Cn)) return "an unassigned code point";
  if (uc_is_general_category(c, UC_CATEGORY_Co)) return "a private-use code point";
  if (uc_is_general_category(c, UC_CATEGORY_Z)) return "a space or separator other than ' '";
  return nullptr;
}

}  // namespace

bool IsValidUtf8(absl::string_view s) { return u8_check(Bytes(s), s.size()) == nullptr; }

absl::StatusOr<std::string> CanonicalName(absl::string_view raw) {
  if (!IsValidUtf8(raw)) return absl::InvalidArgumentError("not valid UTF-8");
  if (raw.empty()) return absl::InvalidArgumentError("required");
  if (raw.front() == ' ' || raw.back() == ' ') {
    return absl::InvalidArgumentError("leading or trailing space");
  }
  const uint8_t* p = Bytes(raw);
  const uint8_t* end = p + raw.size();
  while (p < end) {
    ucs4_t c;
    int n = u8_mbtouc(&c, p, end - p);
    if (const char* why = Refused(c)) {
      return absl::InvalidArgumentError(absl::StrFormat("holds %s (U+%04X)", why, c));
    }
    p += n;
  }
  size_t length = 0;
  uint8_t* nfc = u8_normalize(UNINORM_NFC, Bytes(raw), raw.size(), nullptr, &length);
  if (nfc == nullptr) return absl::InternalError("Unicode normalization failed");
  return Take(nfc, length);
}

std::string NameKey(absl::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return std::string(name);
  size_t length = 0;
  uint8_t* key = u8_casefold(Bytes(name), name.size(), /*iso639_language=*/nullptr, UNINORM_NFC,
                             nullptr, &length);
  if (key == nullptr) return std::string(name);
  return Take(key, length);
}

}  // namespace tessera
