#include "core/packed_id.h"

#include <openssl/sha.h>

#include <cstdint>

namespace tessera {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case too: "ABC…" and "abc…" are different IDs and must not pack alike
}

// 32 lower-case hex digits, optionally with dashes at the UUID positions (8-4-4-4-12).
bool PackUuid(absl::string_view id, absl::uint128* out) {
  if (id.size() != 32 && id.size() != 36) return false;
  const bool dashed = id.size() == 36;
  uint64_t hi = 0, lo = 0;
  int digits = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (id[i] != '-') return false;
      continue;
    }
    int v = HexValue(id[i]);
    if (v < 0) return false;
    uint64_t& half = digits < 16 ? hi : lo;
    half = (half << 4) | static_cast<uint64_t>(v);
    ++digits;
  }
  *out = absl::MakeUint128(hi, lo);
  return true;
}

}  // namespace

absl::uint128 PackId(absl::string_view id) {
  absl::uint128 packed;
  if (PackUuid(id, &packed)) return packed;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | digest[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | digest[i];
  return absl::MakeUint128(hi, lo);
}

}  // namespace tessera
