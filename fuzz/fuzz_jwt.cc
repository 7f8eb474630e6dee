// Fuzzes the JWT verifier two ways. Inputs starting with 'T' are presented as a whole compact
// token (malformed structure, base64, JSON, algorithms, kids). Others are "<header JSON>\0<payload
// JSON>", signed here with the key the first byte picks, so the verifier gets past the signature
// into the header and claim checks (alg pinning, typ, exp/nbf/iat, iss, aud, scope parsing); an
// accepted token is checked against every rule, read back from the JSON it was made of.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/ascii.h"
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
  if (!claims.ok()) return 0;
  // Accepted: then every rule the verifier promises holds, judged here from the JSON the token
  // was made of rather than from what the verifier parsed.
  auto header = nlohmann::json::parse(in.substr(0, split), nullptr, /*allow_exceptions=*/false);
  auto payload = nlohmann::json::parse(in.substr(split + 1), nullptr, false);
  if (!header.is_object() || !payload.is_object()) __builtin_trap();
  auto str = [](const nlohmann::json& j, const char* k) -> const std::string* {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  auto num = [](const nlohmann::json& j, const char* k, int64_t* out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer()) return false;
    *out = it->get<int64_t>();
    return true;
  };
  // The header: the key's own algorithm (never none or HS*), the RFC 9068 type, its kid, no crit.
  const std::string* alg = str(header, "alg");
  const std::string* typ = str(header, "typ");
  const std::string* kid = str(header, "kid");
  if (alg == nullptr || *alg != tessera::SigningAlgName(key->alg())) __builtin_trap();
  if (typ == nullptr) __builtin_trap();
  std::string t = absl::AsciiStrToLower(*typ);
  if (t != "at+jwt" && t != "application/at+jwt") __builtin_trap();
  if (kid == nullptr || *kid != key->kid() || claims->kid != *kid) __builtin_trap();
  if (header.contains("crit")) __builtin_trap();
  // The claims: the issuer, and the times with the 10 s leeway, strictly as the verifier says
  // (expired at exp + leeway itself).
  const std::string* iss = str(payload, "iss");
  if (iss == nullptr || *iss != tessera::fuzz::kIssuer) __builtin_trap();
  int64_t exp = 0, iat = 0, nbf = 0;
  if (!num(payload, "exp", &exp) || !num(payload, "iat", &iat)) __builtin_trap();
  const int64_t n = tessera::fuzz::kNow, leeway = 10;
  if (n >= exp + leeway) __builtin_trap();
  if (n + leeway < iat) __builtin_trap();
  if (payload.contains("nbf")) {
    if (!num(payload, "nbf", &nbf)) __builtin_trap();
    if (nbf != 0 && n + leeway < nbf) __builtin_trap();
  }
  for (const char* required : {"sub", "jti", "client_id", "org_id"}) {
    if (str(payload, required) == nullptr) __builtin_trap();
  }
  if (claims->sub != *str(payload, "sub") || claims->jti != *str(payload, "jti") ||
      claims->org_id != *str(payload, "org_id") || claims->exp != exp) {
    __builtin_trap();
  }
  auto aud = payload.find("aud");
  if (aud == payload.end() || !(aud->is_string() || aud->is_array())) __builtin_trap();
  return 0;
}
