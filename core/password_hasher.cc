#include "core/password_hasher.h"

#include <sodium.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "core/encoding.h"

namespace tessera {

PasswordHasher::PasswordHasher(Argon2Params params) : params_(params) {
  if (sodium_init() < 0) std::abort();  // libsodium cannot work without its own RNG set up
  auto dummy = Hash(RandomHex(16));
  if (!dummy.ok()) std::abort();
  dummy_hash_ = *std::move(dummy);
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) const {
  if (password.size() > kMaxPasswordLength) {
    return absl::InvalidArgumentError("password: longer than 1024 bytes");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.iterations,
                            static_cast<size_t>(params_.memory_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("Argon2id: out of memory");
  }
  return std::string(out);
}

bool PasswordHasher::Verify(absl::string_view phc, absl::string_view password) const {
  if (password.size() > kMaxPasswordLength || phc.size() >= crypto_pwhash_STRBYTES) return false;
  std::string phc_z(phc);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_str_verify(phc_z.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::VerifyDummy(absl::string_view password) const {
  (void)Verify(dummy_hash_, password.substr(0, kMaxPasswordLength));
}

}  // namespace tessera
