// Fuzzes what a call's metadata feeds the caller authenticator: "<authorization value>\n
// <x-api-secret value>". BearerCredential (the production parser) takes the header apart; an API
// key's shape and its secret's format are checked as the authenticator checks them; any other
// credential goes to the production CachingVerifier, twice, so the cache's hit path is fuzzed as
// well as its miss. Nothing here was signed by the ring, so acceptance is a verifier bug, and the
// cache must never hold a token it refused.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/credentials.h"
#include "core/encoding.h"
#include "core/verified_token_cache.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tessera::CachingVerifier* verifier =
      new tessera::CachingVerifier(tessera::fuzz::Ring(), tessera::fuzz::Options(), 1024);
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
  absl::string_view prefix = tessera::ApiKeyPrefix(*credential);
  if (!prefix.empty()) {
    // The API-key branch: a prefix, '_', 64 lowercase hex; a secret is 64 hex or refused.
    if (credential->size() != prefix.size() + 65) __builtin_trap();
    if (!tessera::IsLowerHex(credential->substr(prefix.size() + 1))) __builtin_trap();
    if (tessera::IsApiSecretFormat(secret) &&
        (secret.size() != 64 || !tessera::IsLowerHex(secret))) {
      __builtin_trap();
    }
    return 0;
  }
  const absl::Time now = absl::FromUnixSeconds(tessera::fuzz::kNow);
  const size_t cached = verifier->size();
  for (int round = 0; round < 2; ++round) {
    if (verifier->Verify(*credential, now).ok()) __builtin_trap();
  }
  if (verifier->size() != cached) __builtin_trap();  // a refusal is never cached
  return 0;
}
