// PackId: an identifier as 128 bits, for sets that hold millions of them (the introspection
// snapshot's revoked jtis and families). tessera's IDs are lower-case UUIDs, with dashes
// (families, organizations) or without (jtis), and pack exactly: distinct IDs stay distinct, and
// both spellings of one UUID give the same value. Anything else is packed as the first 128 bits of
// its SHA-256, so two such IDs could only share a value through a SHA-256 collision.
#ifndef TESSERA_CORE_PACKED_ID_H_
#define TESSERA_CORE_PACKED_ID_H_

#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"

namespace tessera {

absl::uint128 PackId(absl::string_view id);

}  // namespace tessera

#endif  // TESSERA_CORE_PACKED_ID_H_
