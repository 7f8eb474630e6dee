#include "core/secret_digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <utility>

#include "core/encoding.h"

namespace tessera {

SecretDigester::SecretDigester(std::string pepper) : pepper_(std::move(pepper)) {}

std::string SecretDigester::Digest(absl::string_view secret) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), pepper_.data(), static_cast<int>(pepper_.size()),
           reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), out,
           &len) == nullptr) {
    std::abort();  // HMAC-SHA-256 cannot fail on valid inputs; a failure is a broken library.
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(out), len));
}

}  // namespace tessera
