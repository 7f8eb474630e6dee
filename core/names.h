// Account names: which strings may name an account, and when two names are the same one.
//
// Names are Unicode, stored in NFC, and compared by their key: the NFKC form, fully case-folded.
// So `josé` typed precomposed or decomposed, `Root` beside `root`, and fullwidth or
// mathematical letters beside plain ones are one name; uniqueness, login (by username or email,
// one namespace) and the brute-force count of an unknown name all compare NameKey. Names that
// only look alike are refused: controls, format characters (the zero-width space and joiners,
// bidirectional marks), other invisible code points (fillers, variation selectors, the braille
// blank), unassigned and private-use code points, enclosing marks, separators other than an
// inner ASCII space, and a mix of scripts beyond what Unicode TS #39 calls highly restrictive
// (`bоss` with a Cyrillic о is refused; Latin with Han and kana is not).
//
//   absl::StatusOr<std::string> name = CanonicalName("Jose\u0301");  // "José", NFC
//   std::string key = NameKey(*name);                                // "josé"
//
// libunistring (Debian's libunistring-dev) does the Unicode work.
#ifndef TESSERA_CORE_NAMES_H_
#define TESSERA_CORE_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or code points
// beyond U+10FFFF.
bool IsValidUtf8(absl::string_view s);

// The NFC form of `raw`, or INVALID_ARGUMENT saying what is wrong with it (without a field
// name: the caller prefixes its own).
absl::StatusOr<std::string> CanonicalName(absl::string_view raw);

// What two names are compared by: the name in NFKC, case-folded. Total: for a string that is
// not valid UTF-8 it returns the input unchanged (no valid name has that key).
std::string NameKey(absl::string_view name);

}  // namespace tessera

#endif  // TESSERA_CORE_NAMES_H_
