// SecretDigester: how tessera stores bearer secrets (API keys, service-token secrets, refresh
// tokens). HMAC-SHA-256 under a server-side pepper, so a leaked table alone cannot be used to
// test guesses offline. The digest is deterministic, which is what lets a presented secret be
// found by an index lookup.
#ifndef TESSERA_CORE_SECRET_DIGEST_H_
#define TESSERA_CORE_SECRET_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tessera {

class SecretDigester {
 public:
  // `pepper` must be at least 32 bytes of secret key material.
  explicit SecretDigester(std::string pepper);
  // Lowercase hex of HMAC-SHA-256(pepper, secret).
  std::string Digest(absl::string_view secret) const;

 private:
  std::string pepper_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_SECRET_DIGEST_H_
