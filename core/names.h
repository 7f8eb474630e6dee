// Account names: which strings may name an account, and when two names are the same one.
//
// Names are Unicode and compared after NFC normalization and full case folding, so `josé` typed
// precomposed (NFC) or decomposed (NFD), and `Root` beside `root`, are one name: uniqueness,
// login and the brute-force count of an unknown name all compare NameKey. Characters that make
// two different names look alike are refused outright: controls, format characters (the
// zero-width space and joiners, bidirectional marks), other default-ignorable code points
// (fillers, variation selectors), unassigned and private-use code points, and separators other
// than the ASCII space, which may not lead or trail.
//
//   absl::StatusOr<std::string> name = CanonicalName("Jose\u0301");  // "José", NFC
//   std::string key = NameKey(*name);                                // "josé"
//
// libunistring (Debian's libunistring-dev) does the Unicode work; its tables are Unicode 14.
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

// What two names are compared by: the case-folded NFC form of a name. Total: for a string that
// is not valid UTF-8 it returns the input unchanged (no valid name has that key).
std::string NameKey(absl::string_view name);

}  // namespace tessera

#endif  // TESSERA_CORE_NAMES_H_
