// KeyRing: the signing keys a replica knows, with their lifecycle. It signs with the newest key
// whose activation time has come and verifies with every key that has not yet passed its
// `verify_until`; the published JWKS is exactly the keys that still verify (and keys waiting to
// activate, so verifiers learn them before tokens signed with them arrive).
#ifndef TESSERA_CORE_KEY_RING_H_
#define TESSERA_CORE_KEY_RING_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/jwt.h"
#include "core/signing_key.h"
#include "core/sync.h"

namespace tessera {

struct KeyRingEntry {
  std::shared_ptr<const SigningKey> key;
  absl::Time activates_at = absl::InfinitePast();    // signs from here on ...
  absl::Time retired_at = absl::InfiniteFuture();    // ... until here ...
  absl::Time verify_until = absl::InfiniteFuture();  // ... and verifies until here.
};

class KeyRing final : public VerificationKeySource {
 public:
  // Replaces the whole set atomically (keys are loaded from storage as one list).
  void Replace(std::vector<KeyRingEntry> entries);

  // The key to sign with at `now`: the newest active, unretired, private key.
  absl::StatusOr<std::shared_ptr<const SigningKey>> SigningKeyAt(absl::Time now) const;

  // Since when the key that signs at `now` has been signing (for its age metric); nullopt when
  // none signs.
  std::optional<absl::Time> SigningSince(absl::Time now) const;

  std::shared_ptr<const SigningKey> FindVerificationKey(absl::string_view kid,
                                                        absl::Time now) const override;

  // Keys to publish at `now`, newest first.
  std::vector<std::shared_ptr<const SigningKey>> Published(absl::Time now) const;

 private:
  mutable Mutex mu_;
  std::vector<KeyRingEntry> entries_ ABSL_GUARDED_BY(mu_);  // newest first
};

}  // namespace tessera

#endif  // TESSERA_CORE_KEY_RING_H_
