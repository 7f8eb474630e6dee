// Envelope encryption for secrets at rest (signing private keys): AES-256-GCM under the
// key-encryption key from configuration. Sealed form: 12-byte nonce || ciphertext || 16-byte tag.
// The associated data binds a ciphertext to its row (e.g. the key ID), so sealed values cannot be
// swapped between rows.
#ifndef TESSERA_CORE_AEAD_H_
#define TESSERA_CORE_AEAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

class Aead {
 public:
  // `key` must be exactly 32 bytes.
  static absl::StatusOr<Aead> Create(std::string key);

  std::string Seal(absl::string_view plaintext, absl::string_view associated_data) const;
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view associated_data) const;

 private:
  explicit Aead(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_AEAD_H_
