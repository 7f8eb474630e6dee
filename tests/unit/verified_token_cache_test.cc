// CachingVerifier: a token's signature is checked once; failures are never cached; a cached
// token still expires, stops verifying when its key leaves the ring, and the cache stays bounded.
#include "core/verified_token_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/encoding.h"
#include "core/key_ring.h"

namespace tessera {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const absl::Time kT0 = absl::FromUnixSeconds(kNow);

class CachingVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::shared_ptr<const SigningKey>(*SigningKey::Generate(SigningAlg::kES256, "k1"));
    ring_.Replace({KeyRingEntry{.key = key_}});
  }
  std::string Token(const std::string& jti, int64_t ttl = 900) {
    AccessTokenClaims c{.iss = "iss",
                        .sub = "s",
                        .aud = {"a"},
                        .exp = kNow + ttl,
                        .iat = kNow,
                        .nbf = kNow,
                        .jti = jti,
                        .client_id = "c",
                        .scopes = {"read:x"},
                        .org_id = "o"};
    return *EncodeAccessToken(c, *key_);
  }
  std::shared_ptr<const SigningKey> key_;
  KeyRing ring_;
};

TEST_F(CachingVerifierTest, VerifiesASignatureOncePerToken) {
  CachingVerifier v(ring_, VerifyOptions{.issuer = "iss"});
  std::string t = Token("j1");
  for (int i = 0; i < 5; ++i) {
    auto c = v.Verify(t, kT0);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->jti, "j1");
    EXPECT_EQ(c->kid, "k1");
  }
  EXPECT_EQ(v.misses(), 1);
  EXPECT_EQ(v.hits(), 4);
  EXPECT_EQ(v.size(), 1u);
}

TEST_F(CachingVerifierTest, FailuresAreNeverCached) {
  CachingVerifier v(ring_, VerifyOptions{.issuer = "iss"});
  std::string t = Token("j1");
  std::vector<std::string> parts = absl::StrSplit(t, '.');
  std::string forged = parts[0] + "." + Base64UrlEncode("{\"sub\":\"x\"}") + "." + parts[2];
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(v.Verify(forged, kT0).ok());
  CachingVerifier wrong_iss(ring_, VerifyOptions{.issuer = "other"});
  EXPECT_FALSE(wrong_iss.Verify(t, kT0).ok());
  EXPECT_EQ(v.size(), 0u);
  EXPECT_EQ(wrong_iss.size(), 0u);
}

TEST_F(CachingVerifierTest, CachedTokenStillExpires) {
  CachingVerifier v(ring_, VerifyOptions{.issuer = "iss"});
  std::string t = Token("j1", 60);
  ASSERT_TRUE(v.Verify(t, kT0).ok());
  EXPECT_TRUE(v.Verify(t, kT0 + absl::Seconds(65)).ok());   // within the 10 s leeway
  EXPECT_FALSE(v.Verify(t, kT0 + absl::Seconds(70)).ok());  // past it, though cached
}

TEST_F(CachingVerifierTest, RetiredKeyStopsCachedTokensAtOnce) {
  CachingVerifier v(ring_, VerifyOptions{.issuer = "iss"});
  std::string t = Token("j1");
  ASSERT_TRUE(v.Verify(t, kT0).ok());
  ring_.Replace({KeyRingEntry{.key = key_, .verify_until = kT0 + absl::Seconds(30)}});
  EXPECT_TRUE(v.Verify(t, kT0 + absl::Seconds(29)).ok());
  EXPECT_FALSE(v.Verify(t, kT0 + absl::Seconds(30)).ok());
}

TEST_F(CachingVerifierTest, StaysBounded) {
  CachingVerifier v(ring_, VerifyOptions{.issuer = "iss"}, /*max_entries=*/64);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(v.Verify(Token("j" + std::to_string(i)), kT0).ok());
  EXPECT_LE(v.size(), 64u);
  EXPECT_GT(v.size(), 0u);
}

// Readers on four threads while the feed thread replaces the key ring (with the same key, so
// every token stays valid): no failure, the cache stays bounded, every lookup is counted.
TEST_F(CachingVerifierTest, ConcurrentReadersAndAKeyRingBeingReplacedAgree) {
  CachingVerifier verifier(ring_, VerifyOptions{.issuer = "iss"}, /*max_entries=*/32);
  std::vector<std::string> tokens;
  for (int i = 0; i < 48; ++i) tokens.push_back(Token("j" + std::to_string(i)));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        if (!verifier.Verify(tokens[(i * 7 + t) % tokens.size()], kT0).ok()) failures.fetch_add(1);
      }
    });
  }
  std::thread reloader([&] {
    while (!stop.load()) ring_.Replace({KeyRingEntry{.key = key_}});
  });
  for (auto& r : readers) r.join();
  stop = true;
  reloader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(verifier.size(), 32u + 16u);  // bounded per shard, whatever the interleaving
  EXPECT_EQ(verifier.hits() + verifier.misses(), 4 * 400);
}

}  // namespace
}  // namespace tessera
