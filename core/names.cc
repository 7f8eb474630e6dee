#include "core/names.h"

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

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
  // Blank or stand-in symbols that render as nothing, or as a box.
  if (c == 0x2800 || c == 0xFFFC || c == 0xFFFD) return "an invisible character";
  if (uc_is_general_category(c, UC_CATEGORY_Cn)) return "an unassigned code point";
  if (uc_is_general_category(c, UC_CATEGORY_Co)) return "a private-use code point";
  if (uc_is_general_category(c, UC_CATEGORY_Z)) return "a space or separator other than ' '";
  if (uc_is_general_category(c, UC_CATEGORY_Me)) return "an enclosing mark";
  return nullptr;
}

// Scripts a name may mix (Unicode TS #39's "highly restrictive" level): one script, or Latin
// with the scripts Chinese, Japanese and Korean are written in together. Common and Inherited
// characters (digits, punctuation, combining marks) go with any.
bool MixAllowed(const std::set<std::string>& scripts) {
  if (scripts.size() <= 1) return true;
  static const std::set<std::string>* const kMixes[] = {
      new std::set<std::string>{"Latin", "Han", "Hiragana", "Katakana"},
      new std::set<std::string>{"Latin", "Han", "Bopomofo"},
      new std::set<std::string>{"Latin", "Han", "Hangul"},
  };
  for (const auto* mix : kMixes) {
    if (std::includes(mix->begin(), mix->end(), scripts.begin(), scripts.end())) return true;
  }
  return false;
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
  std::set<std::string> scripts;
  while (p < end) {
    ucs4_t c;
    int n = u8_mbtouc(&c, p, end - p);
    if (const char* why = Refused(c)) {
      return absl::InvalidArgumentError(absl::StrFormat("holds %s (U+%04X)", why, c));
    }
    const uc_script_t* script = uc_script(c);
    if (script != nullptr && std::string_view(script->name) != "Common" &&
        std::string_view(script->name) != "Inherited") {
      scripts.insert(script->name);
    }
    p += n;
  }
  if (!MixAllowed(scripts)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mixes scripts (", absl::StrJoin(scripts, ", "), "), as look-alike names do"));
  }
  size_t length = 0;
  uint8_t* nfc = u8_normalize(UNINORM_NFC, Bytes(raw), raw.size(), nullptr, &length);
  if (nfc == nullptr) return absl::InternalError("Unicode normalization failed");
  return Take(nfc, length);
}

std::string NameKey(absl::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return std::string(name);
  size_t length = 0;
  uint8_t* key = u8_casefold(Bytes(name), name.size(), /*iso639_language=*/nullptr, UNINORM_NFKC,
                             nullptr, &length);
  if (key == nullptr) return std::string(name);
  return Take(key, length);
}

}  // namespace tessera
