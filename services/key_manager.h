// KeyManager: keeps the KeyRing in step with the signing keys in storage. At start it makes sure
// an active key exists (creating and sealing one if this is the first replica ever) and loads
// every key, unsealing private parts with the key-encryption key. It also publishes the ring's
// public keys as the JWKS (for GetJwks and the HTTP side port alike).
#ifndef TESSERA_SERVICES_KEY_MANAGER_H_
#define TESSERA_SERVICES_KEY_MANAGER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/aead.h"
#include "core/clock.h"
#include "core/key_ring.h"
#include "storage/signing_key_store.h"

namespace tessera {

class KeyManager {
 public:
  KeyManager(const Clock& clock, const Aead& kek, SigningKeyStore& store, KeyRing& ring,
             SigningAlg alg);

  // Creates the first key if none is active, then loads all keys into the ring.
  absl::Status EnsureAndLoad();
  // Reloads the ring from storage.
  absl::Status Reload();

  // Creates a key that is published at once and signs from `now + publish_delay`; the keys it
  // replaces stop signing then and keep verifying for `verify_tail` more (the longest lifetime
  // of a token they signed, plus leeway). Returns the new kid and when it starts signing.
  struct Rotated {
    std::string kid;
    absl::Time activates_at;
  };
  absl::StatusOr<Rotated> Rotate(absl::Duration publish_delay, absl::Duration verify_tail,
                                 AuditActor actor);

  // The public keys verifiers should trust now: the signing one, the next, and those still
  // verifying tokens they signed. JwksJson is the same set as an RFC 7517 document.
  std::vector<PublicJwk> Jwks() const;
  std::string JwksJson() const;

 private:
  // A new key of the configured algorithm, sealed, signing from `activates_at`.
  absl::StatusOr<SigningKeyRecord> NewRecord(absl::Time now, absl::Time activates_at);
  absl::Status Load(const std::vector<SigningKeyRecord>& records);

  const Clock& clock_;
  const Aead& kek_;
  SigningKeyStore& store_;
  KeyRing& ring_;
  SigningAlg alg_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_KEY_MANAGER_H_
