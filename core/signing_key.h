// SigningKey: one asymmetric JWS key (ES256, RS256 or EdDSA/Ed25519) behind OpenSSL EVP. The
// algorithm is a property of the key, never of the token, so verification is pinned to it.
#ifndef TESSERA_CORE_SIGNING_KEY_H_
#define TESSERA_CORE_SIGNING_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tessera {

enum class SigningAlg { kES256, kRS256, kEdDSA };

absl::StatusOr<SigningAlg> ParseSigningAlg(absl::string_view name);
absl::string_view SigningAlgName(SigningAlg alg);

// The public half as a JWK (RFC 7517); empty strings for members the key type lacks.
struct PublicJwk {
  std::string kid, kty, alg, use, crv, x, y, n, e;
};

class SigningKey {
 public:
  static absl::StatusOr<std::unique_ptr<SigningKey>> Generate(SigningAlg alg, std::string kid);
  // Loads a PKCS#8 private key; fails unless the key's type matches `alg`.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPrivatePem(SigningAlg alg, std::string kid,
                                                                    absl::string_view pem);
  // A verify-only key from a SubjectPublicKeyInfo PEM.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPublicPem(SigningAlg alg, std::string kid,
                                                                   absl::string_view pem);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const std::string& kid() const { return kid_; }
  SigningAlg alg() const { return alg_; }
  bool can_sign() const { return has_private_; }

  std::string PrivatePem() const;  // empty for a verify-only key
  std::string PublicPem() const;
  PublicJwk Jwk() const;

  // The JWS signature over `data` (for ES256 the 64-byte r||s form of RFC 7518 §3.4).
  absl::StatusOr<std::string> Sign(absl::string_view data) const;
  bool Verify(absl::string_view data, absl::string_view signature) const;

 private:
  SigningKey(SigningAlg alg, std::string kid, EVP_PKEY* pkey, bool has_private);

  SigningAlg alg_;
  std::string kid_;
  EVP_PKEY* pkey_;
  bool has_private_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_SIGNING_KEY_H_
