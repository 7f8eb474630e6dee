#include "core/aead.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "core/encoding.h"

namespace tessera {
namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<Aead> Aead::Create(std::string key) {
  if (key.size() != 32) {
    return absl::InvalidArgumentError("the key-encryption key must be 32 bytes");
  }
  return Aead(std::move(key));
}

std::string Aead::Seal(absl::string_view plaintext, absl::string_view aad) const {
  std::string nonce = RandomBytes(kNonce);
  std::string out = nonce;
  out.resize(kNonce + plaintext.size() + kTag);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + kNonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext), static_cast<int>(plaintext.size())) &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                          out.data() + kNonce + plaintext.size());
  if (!ok) std::abort();  // AES-GCM encryption with a valid key does not fail.
  return out;
}

absl::StatusOr<std::string> Aead::Open(absl::string_view sealed, absl::string_view aad) const {
  if (sealed.size() < kNonce + kTag) return absl::DataLossError("sealed value too short");
  absl::string_view nonce = sealed.substr(0, kNonce);
  absl::string_view ct = sealed.substr(kNonce, sealed.size() - kNonce - kTag);
  std::string tag(sealed.substr(sealed.size() - kTag));
  std::string out(ct.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, U(ct),
                        static_cast<int>(ct.size())) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) > 0;
  if (!ok) {
    return absl::DataLossError("cannot decrypt: wrong key-encryption key or tampered ciphertext");
  }
  return out;
}

}  // namespace tessera
