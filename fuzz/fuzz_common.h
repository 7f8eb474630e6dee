// What the fuzz targets share: a key ring with one key of each algorithm (generated once per
// process), so inputs can reach the code behind signature verification.
#ifndef TESSERA_FUZZ_FUZZ_COMMON_H_
#define TESSERA_FUZZ_FUZZ_COMMON_H_

#include <cstdlib>
#include <memory>

#include "core/jwt.h"
#include "core/key_ring.h"
#include "core/signing_key.h"

namespace tessera::fuzz {

inline constexpr int64_t kNow = 1'800'000'000;
inline constexpr char kIssuer[] = "https://tessera.fuzz";

// Kids "es", "rs", "ed": one ES256, RS256 and EdDSA key, all verifying.
inline const KeyRing& Ring() {
  static const KeyRing* ring = [] {
    auto* r = new KeyRing();
    std::vector<KeyRingEntry> entries;
    for (auto [alg, kid] :
         {std::pair{SigningAlg::kES256, "es"}, std::pair{SigningAlg::kRS256, "rs"},
          std::pair{SigningAlg::kEdDSA, "ed"}}) {
      auto key = SigningKey::Generate(alg, kid);
      if (!key.ok()) std::abort();
      entries.push_back(KeyRingEntry{.key = std::shared_ptr<const SigningKey>(*std::move(key))});
    }
    r->Replace(std::move(entries));
    return r;
  }();
  return *ring;
}

inline VerifyOptions Options() { return VerifyOptions{.issuer = kIssuer}; }

}  // namespace tessera::fuzz

#endif  // TESSERA_FUZZ_FUZZ_COMMON_H_
