// Fuzzes the caller authenticator's input side: "<authorization value>\n<x-api-secret value>"
// as gRPC metadata delivers them. The bearer credential is parsed and routed as TokenLogic does
// (an API key by its prefix, with the secret's format checked; otherwise a JWT to the verifier).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/credentials.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  size_t newline = in.find('\n');
  absl::string_view authorization = in.substr(0, newline);
  absl::string_view secret =
      newline == absl::string_view::npos ? absl::string_view() : in.substr(newline + 1);
  auto credential = tessera::BearerCredential(authorization);
  if (!credential.ok()) return 0;
  if (credential->empty()) __builtin_trap();
  for (char c : *credential) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) __builtin_trap();
  }
  if (!tessera::ApiKeyPrefix(*credential).empty()) {
    (void)tessera::IsApiSecretFormat(secret);
    return 0;
  }
  auto claims = tessera::VerifyAccessToken(*credential, tessera::fuzz::Ring(),
                                           absl::FromUnixSeconds(tessera::fuzz::kNow),
                                           tessera::fuzz::Options());
  if (claims.ok()) __builtin_trap();  // nothing here was signed by the ring
  return 0;
}
