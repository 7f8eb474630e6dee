// PasswordHasher: Argon2id (libsodium's crypto_pwhash, which has SIMD code paths) producing and
// checking PHC strings such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. Defaults are the
// OWASP parameters. Each call costs tens of milliseconds of CPU: callers run it on a
// BoundedWorkerPool, never on an RPC thread directly.
#ifndef TESSERA_CORE_PASSWORD_HASHER_H_
#define TESSERA_CORE_PASSWORD_HASHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

struct Argon2Params {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  // libsodium's Argon2id always uses one lane (p=1).
};

// Longest password accepted, so a caller cannot make Argon2 hash megabytes.
inline constexpr size_t kMaxPasswordLength = 1024;

class PasswordHasher {
 public:
  explicit PasswordHasher(Argon2Params params = {});

  absl::StatusOr<std::string> Hash(absl::string_view password) const;
  // False for a wrong password or a malformed PHC string; the latter is logged by the caller.
  bool Verify(absl::string_view phc, absl::string_view password) const;
  // Spends the same work as a real verification, for unknown users, so that response time does
  // not tell an attacker which usernames exist.
  void VerifyDummy(absl::string_view password) const;

  const Argon2Params& params() const { return params_; }

 private:
  Argon2Params params_;
  std::string dummy_hash_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_PASSWORD_HASHER_H_
