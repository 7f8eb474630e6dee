// The memory-only parts of brute-force throttling: peer addresses, the retry-after status, and
// the per-peer table's bound.
#include "services/login_guard.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(PeerAddressTest, DropsThePortOnly) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.7:5123"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5123"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("unix:/run/tessera.sock"), "unix:/run/tessera.sock");
  EXPECT_EQ(PeerAddress(""), "");
}

TEST(TooManyAttemptsTest, CarriesWholeSecondsRoundedUp) {
  absl::Status s = TooManyAttempts(absl::Milliseconds(59'001));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RetryAfterSeconds(s), 60);
  EXPECT_EQ(RetryAfterSeconds(TooManyAttempts(absl::ZeroDuration())), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::ResourceExhaustedError("queue full")), std::nullopt);
}

TEST(PeerTableTest, LocksAtTheLimitAndStaysBounded) {
  PeerThrottle peers(ThrottlePolicy{.max_failures = 2}, /*max_peers=*/3);
  absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_FALSE(peers.LockedUntil("a", t));
  peers.CountFailure("a", t);
  EXPECT_FALSE(peers.LockedUntil("a", t));
  peers.CountFailure("a", t);
  EXPECT_EQ(peers.LockedUntil("a", t), t + absl::Minutes(1));
  peers.CountFailure("b", t);
  peers.CountFailure("c", t);
  peers.CountFailure("d", t);  // full of live counters: not tracked
  EXPECT_EQ(peers.size(), 3u);
  // Once the others are stale, a new address takes a stale one's place.
  absl::Time later = t + absl::Minutes(16);
  peers.CountFailure("d", later);
  EXPECT_EQ(peers.size(), 1u);
}

}  // namespace
}  // namespace tessera
