#include "core/verified_token_cache.h"

#include <openssl/sha.h>

namespace tessera {
namespace {

std::string CacheKey(absl::string_view token) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof(md));
}

}  // namespace

CachingVerifier::CachingVerifier(const VerificationKeySource& keys, VerifyOptions options,
                                 size_t max_entries)
    : keys_(keys),
      options_(std::move(options)),
      max_per_shard_(std::max<size_t>(1, max_entries / kShards)) {}

size_t CachingVerifier::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.entries.size();
  }
  return n;
}

absl::StatusOr<AccessTokenClaims> CachingVerifier::Verify(absl::string_view token, absl::Time now) {
  if (!LooksLikeJwt(token)) return absl::UnauthenticatedError("invalid access token: shape");
  std::string key = CacheKey(token);
  Shard& shard = ShardFor(key);
  Entry hit;
  {
    MutexLock lock(&shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) hit = it->second;
  }
  int64_t t = absl::ToUnixSeconds(now);
  int64_t leeway = absl::ToInt64Seconds(options_.leeway);
  if (hit.claims != nullptr) {
    if (t >= hit.claims->exp + leeway) {
      MutexLock lock(&shard.mu);
      shard.entries.erase(key);
      return absl::UnauthenticatedError("invalid access token: expired");
    }
    if (keys_.FindVerificationKey(hit.kid, now) == nullptr) {
      return absl::UnauthenticatedError("invalid access token: key retired");
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return *hit.claims;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  auto claims = VerifyAccessToken(token, keys_, now, options_);
  if (!claims.ok()) return claims.status();  // failures are never cached
  Insert(shard, std::move(key),
         Entry{std::make_shared<const AccessTokenClaims>(*claims), claims->kid}, now);
  return claims;
}

void CachingVerifier::Insert(Shard& shard, std::string key, Entry entry, absl::Time now) {
  int64_t t = absl::ToUnixSeconds(now);
  int64_t leeway = absl::ToInt64Seconds(options_.leeway);
  MutexLock lock(&shard.mu);
  if (shard.entries.size() >= max_per_shard_) {
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      it = t >= it->second.claims->exp + leeway ? shard.entries.erase(it) : std::next(it);
    }
    while (shard.entries.size() >= max_per_shard_) shard.entries.erase(shard.entries.begin());
  }
  shard.entries.emplace(std::move(key), std::move(entry));
}

}  // namespace tessera
