// Credential formats: API keys and service-token secrets come from the CSPRNG in the documented
// shapes, are parsed strictly, and are never confused with refresh tokens. Also the coalescing
// of API-key usage (at most one write per key per interval).
#include "core/credentials.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "services/key_usage.h"

namespace tessera {
namespace {

TEST(ApiKeyFormat, PrefixUnderscoreAnd64HexFromTheCsprng) {
  std::set<std::string> seen;
  std::array<int, 16> digits{};
  constexpr int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = NewApiKey("tsr");
    ASSERT_EQ(key.size(), 4u + 64u);
    ASSERT_EQ(ApiKeyPrefix(key), "tsr");
    EXPECT_TRUE(seen.insert(key).second) << "duplicate key";
    for (char c : key.substr(4)) digits[c <= '9' ? c - '0' : c - 'a' + 10]++;
  }
  // 256 random bits per key: every hex digit appears about equally often (expected 8000 each;
  // a uniform source stays within ±6% here with overwhelming probability).
  for (int d = 0; d < 16; ++d) {
    EXPECT_NEAR(digits[d], kKeys * 64 / 16, kKeys * 64 / 16 * 0.06) << "digit " << d;
  }
  EXPECT_EQ(ApiKeyDisplayPrefix("tsr_0123456789abcdef" + std::string(48, '0')), "tsr_01234567");
}

TEST(ApiKeyFormat, ParsesStrictly) {
  std::string hex(64, 'a');
  EXPECT_EQ(ApiKeyPrefix("tss_" + hex), "tss");
  for (const std::string& bad :
       {"tsr_" + hex.substr(1), "tsr_" + hex + "0", "TSR_" + hex, "tsr_" + std::string(64, 'A'),
        "tsr-" + hex, "_" + hex, hex, "rt_" + hex /* a refresh token */, std::string("tsr_")}) {
    EXPECT_TRUE(ApiKeyPrefix(bad).empty()) << bad;
  }
  EXPECT_FALSE(IsValidApiKeyPrefix("rt"));
  EXPECT_FALSE(IsValidApiKeyPrefix(""));
  EXPECT_FALSE(IsValidApiKeyPrefix("a_b"));
  EXPECT_FALSE(IsValidApiKeyPrefix(std::string(17, 'a')));
  EXPECT_TRUE(IsValidApiKeyPrefix("acme2"));
  EXPECT_TRUE(IsApiSecretFormat(NewApiSecret()));
  EXPECT_NE(NewApiSecret(), NewApiSecret());
  EXPECT_FALSE(IsApiSecretFormat(hex.substr(2)));
}

TEST(KeyUsage, WritesEachKeyAtMostOncePerInterval) {
  KeyUsage usage(absl::Minutes(1));
  absl::Time t = absl::FromUnixSeconds(1800000000);
  for (int i = 0; i < 100; ++i) usage.Note("org", "k1", t + absl::Milliseconds(i));
  usage.Note("org", "k2", t);
  auto first = usage.TakePending();
  ASSERT_EQ(first.size(), 2u);
  for (const KeyUse& u : first) EXPECT_EQ(u.at, t);  // the first use in the window
  usage.Note("org", "k1", t + absl::Seconds(30));
  EXPECT_TRUE(usage.TakePending().empty());  // written 30 s ago: not again yet
  usage.Note("org", "k1", t + absl::Seconds(61));
  auto later = usage.TakePending();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].id, "k1");
  EXPECT_EQ(later[0].at, t + absl::Seconds(61));
  EXPECT_TRUE(usage.TakePending().empty());
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(BearerCredentialTest, AcceptsOnlyTheBearerSchemeWithOneCredential) {
  EXPECT_EQ(BearerCredential("Bearer abc").value(), "abc");
  EXPECT_EQ(BearerCredential("bEaReR   abc  ").value(), "abc");
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc",
                          "Bearer a b", "Bearer a\tb", "Bearer a\x7f"}) {
    EXPECT_EQ(BearerCredential(bad).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

}  // namespace
}  // namespace tessera
