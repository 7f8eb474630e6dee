// SecretDigester: how tessera stores bearer secrets (API keys, service-token secrets, refresh
// tokens). HMAC-SHA-256 under a server-side pepper, so a leaked table alone cannot be used to
// test guesses offline. The digest is deterministic, which is what lets a presented secret be
// found by an index lookup.
#ifndef TESSERA_CORE_SECRET_DIGEST_H_
#define TESSERA_CORE_SECRET_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace tessera {

class SecretDigester {
 public:
  // `pepper` must be at least 32 bytes of secret key material.
  explicit SecretDigester(std::string pepper);
  ~SecretDigester();
  SecretDigester(const SecretDigester&) = delete;
  SecretDigester& operator=(const SecretDigester&) = delete;
  // Lowercase hex of HMAC-SHA-256(pepper, secret). Thread-safe.
  std::string Digest(absl::string_view secret) const;

 private:
  // HMAC-SHA-256 keyed with the pepper once: each Digest copies it, instead of looking the
  // algorithm up and keying it again (OpenSSL 3's one-shot HMAC() does both, on every call, and
  // it is on the path of every request that presents a service token).
  evp_mac_ctx_st* keyed_ = nullptr;
};

}  // namespace tessera

#endif  // TESSERA_CORE_SECRET_DIGEST_H_
