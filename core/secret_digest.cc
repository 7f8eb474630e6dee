#include "core/secret_digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

#include "core/encoding.h"

namespace tessera {

SecretDigester::SecretDigester(std::string pepper) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac != nullptr) keyed_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context keeps its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (keyed_ == nullptr ||
      EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(pepper.data()), pepper.size(),
                   params) != 1) {
    std::abort();  // HMAC-SHA-256 is in every OpenSSL 3 default provider; without it, nothing works
  }
}

SecretDigester::~SecretDigester() { EVP_MAC_CTX_free(keyed_); }

std::string SecretDigester::Digest(absl::string_view secret) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed_);
  if (ctx == nullptr ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(secret.data()), secret.size()) !=
          1 ||
      EVP_MAC_final(ctx, out, &len, sizeof out) != 1) {
    std::abort();  // HMAC-SHA-256 cannot fail on valid inputs; a failure is a broken library.
  }
  EVP_MAC_CTX_free(ctx);
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(out), len));
}

}  // namespace tessera
