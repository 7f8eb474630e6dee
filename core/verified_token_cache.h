// CachingVerifier: verifies access tokens once per replica. A signature check costs two to four
// RPCs' worth of CPU (DESIGN.md §3), so the claims of a token that verified are kept, keyed by a
// SHA-256 of the token, until the token expires. On every hit the token's key must still be in
// the ring (a retired key's tokens stop verifying at once) and the expiry is checked again.
// Revocation, account status and scopes are not cached here: callers check them on every call.
// Bounded: when full, expired entries are dropped, then arbitrary ones, so a flood of distinct
// valid tokens cannot grow memory without limit. Thread-safe, sharded to keep lock contention low.
#ifndef TESSERA_CORE_VERIFIED_TOKEN_CACHE_H_
#define TESSERA_CORE_VERIFIED_TOKEN_CACHE_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/jwt.h"
#include "core/sync.h"

namespace tessera {

class CachingVerifier {
 public:
  CachingVerifier(const VerificationKeySource& keys, VerifyOptions options,
                  size_t max_entries = 100'000);

  absl::StatusOr<AccessTokenClaims> Verify(absl::string_view token, absl::Time now);

  size_t size() const;
  int64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  int64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::shared_ptr<const AccessTokenClaims> claims;
    std::string kid;
  };
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(const std::string& key) {
    return shards_[static_cast<unsigned char>(key[0]) % kShards];
  }
  void Insert(Shard& shard, std::string key, Entry entry, absl::Time now);

  const VerificationKeySource& keys_;
  VerifyOptions options_;
  size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
};

}  // namespace tessera

#endif  // TESSERA_CORE_VERIFIED_TOKEN_CACHE_H_
