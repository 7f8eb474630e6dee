// Fuzzes the JWT verifier two ways. Inputs starting with 'T' are presented as a whole compact
// token (malformed structure, base64, JSON, algorithms, kids). Others are "<header JSON>\0<payload
// JSON>", signed here with the key the first byte picks, so the verifier gets past the signature
// into the header and claim checks (alg pinning, typ, exp/nbf/iat, iss, aud, scope parsing).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/encoding.h"
#include "fuzz/fuzz_common.h"

using tessera::fuzz::Ring;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  absl::Time now = absl::FromUnixSeconds(tessera::fuzz::kNow);
  if (!in.empty() && in[0] == 'T') {
    auto claims = tessera::VerifyAccessToken(in.substr(1), Ring(), now, tessera::fuzz::Options());
    (void)tessera::LooksLikeJwt(in.substr(1));
    // A token the verifier accepts must have been signed by one of the ring's keys; the fuzzer
    // cannot forge one, so acceptance here is a verifier bug.
    if (claims.ok()) __builtin_trap();
    return 0;
  }
  if (in.empty()) return 0;
  const char* kids[] = {"es", "rs", "ed"};
  auto key = Ring().FindVerificationKey(kids[static_cast<uint8_t>(in[0]) % 3], now);
  in.remove_prefix(1);
  size_t split = in.find('\0');
  if (split == absl::string_view::npos) return 0;
  std::string signing_input = absl::StrCat(tessera::Base64UrlEncode(in.substr(0, split)), ".",
                                           tessera::Base64UrlEncode(in.substr(split + 1)));
  auto signature = key->Sign(signing_input);
  if (!signature.ok()) return 0;
  std::string token = absl::StrCat(signing_input, ".", tessera::Base64UrlEncode(*signature));
  auto claims = tessera::VerifyAccessToken(token, Ring(), now, tessera::fuzz::Options());
  if (claims.ok()) {
    // Whatever is accepted meets the claim rules the verifier promises.
    if (claims->iss != tessera::fuzz::kIssuer) __builtin_trap();
    if (claims->exp + 10 < tessera::fuzz::kNow) __builtin_trap();
  }
  return 0;
}
