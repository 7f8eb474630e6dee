// Unit tests for the small core pieces: encodings, digests, AEAD, scopes, Argon2id, the pool.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <set>

#include "core/aead.h"
#include "core/credentials.h"
#include "core/encoding.h"
#include "core/packed_id.h"
#include "core/password_hasher.h"
#include "core/scopes.h"
#include "core/secret_digest.h"
#include "core/worker_pool.h"
#include "tests/unit/spin.h"

namespace tessera {
namespace {

TEST(EncodingTest, Base64UrlRoundTripsAndIsStrict) {
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v").has_value());   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());      // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // non-zero trailing bits
}

TEST(PackIdTest, UuidsPackExactlyAndBothSpellingsAgree) {
  EXPECT_EQ(PackId("00000000000000000000000000000001"), absl::uint128(1));
  EXPECT_EQ(PackId("0123456789abcdef0011223344556677"),
            absl::MakeUint128(0x0123456789abcdefULL, 0x0011223344556677ULL));
  EXPECT_EQ(PackId("01234567-89ab-cdef-0011-223344556677"),
            PackId("0123456789abcdef0011223344556677"));
  EXPECT_NE(PackId("0123456789abcdef0011223344556677"), PackId("0123456789abcdef0011223344556678"));
  EXPECT_EQ(PackId("ffffffff-ffff-ffff-ffff-ffffffffffff"), ~absl::uint128(0));
}

TEST(PackIdTest, AnythingElseIsHashedApart) {
  // Upper case, a dash out of place, a wrong length: not packed as hex, so they differ from the
  // lower-case UUID they resemble, and from each other.
  std::set<absl::uint128> seen;
  for (const char* id : {"0123456789ABCDEF0011223344556677", "0123456789abcdef0011223344556677",
                         "0123456-789ab-cdef-0011-223344556677", "0123456789abcdef001122334455667",
                         "", "jti-1", "jti-2"}) {
    EXPECT_TRUE(seen.insert(PackId(id)).second) << id;
    EXPECT_EQ(PackId(id), PackId(std::string(id)));  // deterministic
  }
}

TEST(EncodingTest, HexAndConstantTimeEquals) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(*HexDecode("01ab"), "\x01\xab");
  EXPECT_FALSE(HexDecode("01AB").has_value());
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
}

TEST(CredentialsTest, RefreshTokensAre256RandomBits) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = NewRefreshToken();
    EXPECT_TRUE(IsRefreshTokenFormat(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_FALSE(IsRefreshTokenFormat("rt_" + std::string(64, 'G')));
  EXPECT_FALSE(IsRefreshTokenFormat("rt_abc"));
  EXPECT_EQ(NewGeneratedPassword().size(), 43u);
}

// RFC 4231 test case 6 (a key longer than the block): the stored digests stay HMAC-SHA-256.
TEST(SecretDigestTest, IsHmacSha256) {
  SecretDigester d(std::string(131, '\xaa'));
  EXPECT_EQ(d.Digest("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(SecretDigestTest, DependsOnPepperAndSecret) {
  SecretDigester a(std::string(32, 'a')), b(std::string(32, 'b'));
  EXPECT_EQ(a.Digest("x"), a.Digest("x"));
  EXPECT_NE(a.Digest("x"), a.Digest("y"));
  EXPECT_NE(a.Digest("x"), b.Digest("x"));
  EXPECT_EQ(a.Digest("x").size(), 64u);
}

TEST(AeadTest, SealsAndDetectsTampering) {
  auto aead = Aead::Create(std::string(32, 'k'));
  ASSERT_TRUE(aead.ok());
  std::string sealed = aead->Seal("private key", "kid-1");
  EXPECT_EQ(*aead->Open(sealed, "kid-1"), "private key");
  EXPECT_FALSE(aead->Open(sealed, "kid-2").ok());  // bound to its row
  std::string flipped = sealed;
  flipped[14] ^= 1;
  EXPECT_FALSE(aead->Open(flipped, "kid-1").ok());
  auto other = Aead::Create(std::string(32, 'o'));
  EXPECT_FALSE(other->Open(sealed, "kid-1").ok());
  EXPECT_FALSE(Aead::Create("short").ok());
  EXPECT_NE(aead->Seal("x", ""), aead->Seal("x", ""));  // fresh nonce each time
}

TEST(ScopesTest, Grammar) {
  for (const char* ok :
       {"admin", "read:shifts", "write:leave_requests", "tokens:introspect", "a.b-c:d_e", "x1"}) {
    EXPECT_TRUE(IsValidScope(ok)) << ok;
  }
  for (const char* bad : {"", "Read", ":a", "a:", "a::b", "a b", "1abc", "a/b", "ä"}) {
    EXPECT_FALSE(IsValidScope(bad)) << bad;
  }
  EXPECT_FALSE(IsValidScope(std::string(129, 'a')));
}

TEST(ScopesTest, AdminGrantsAllEmptyGrantsNothing) {
  ScopeSet admin({"admin"}), empty, reader({"read:x"});
  EXPECT_TRUE(admin.Grants("anything:at_all"));
  EXPECT_FALSE(empty.Grants("read:x"));
  EXPECT_TRUE(reader.Grants("read:x"));
  EXPECT_FALSE(reader.Grants("write:x"));
}

TEST(ScopesTest, IntersectWithCurrentPermissions) {
  ScopeSet token({"read:x", "write:x"});
  EXPECT_EQ(token.IntersectHeld(ScopeSet({"read:x"})), ScopeSet({"read:x"}));
  EXPECT_EQ(token.IntersectHeld(ScopeSet({"admin"})), token);
  EXPECT_TRUE(token.IntersectHeld(ScopeSet()).empty());
  // A token minted as admin shrinks to what the account holds now.
  EXPECT_EQ(ScopeSet({"admin"}).IntersectHeld(ScopeSet({"read:x"})), ScopeSet({"read:x"}));
}

TEST(PasswordHasherTest, Argon2idPhcWithOwaspDefaults) {
  PasswordHasher hasher;
  auto phc = hasher.Hash("correct horse battery staple");
  ASSERT_TRUE(phc.ok());
  EXPECT_EQ(phc->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *phc;
  EXPECT_TRUE(hasher.Verify(*phc, "correct horse battery staple"));
  EXPECT_FALSE(hasher.Verify(*phc, "correct horse battery stapler"));
  EXPECT_FALSE(hasher.Verify("$argon2id$garbage", "x"));
  EXPECT_NE(*hasher.Hash("same"), *hasher.Hash("same"));  // salted
}

TEST(PasswordHasherTest, RefusesOverlongPasswords) {
  PasswordHasher hasher(Argon2Params{.memory_kib = 64, .iterations = 1});
  std::string huge(kMaxPasswordLength + 1, 'a');
  EXPECT_TRUE(absl::IsInvalidArgument(hasher.Hash(huge).status()));
  auto phc = hasher.Hash("pw");
  EXPECT_FALSE(hasher.Verify(*phc, huge));
}

TEST(WorkerPoolTest, WorkersRunAtTheNiceValueAskedFor) {
  auto nice_of_worker = [](BoundedWorkerPool& pool) {
    return *pool.Run<int>([] {
      errno = 0;
      return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    });
  };
  int base = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  BoundedWorkerPool plain(1, 4);
  EXPECT_EQ(nice_of_worker(plain), base);
  BoundedWorkerPool nice(1, 4, /*nice=*/10);
  EXPECT_EQ(nice_of_worker(nice), std::min(base + 10, 19));
  // The caller's own thread is left as it was.
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), base);
}

TEST(WorkerPoolTest, RunsWorkAndFailsFastWhenFull) {
  BoundedWorkerPool pool(1, 1);
  auto r = pool.Run<int>([] { return 7; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);

  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  std::jthread blocker, queued;
  // Destroyed first, whatever fails below: the blocker is released before the threads join.
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag = true; }
  } release_on_exit{release};
  blocker = std::jthread([&] {
    (void)pool.Run<int>([&] {
      started = 1;
      (void)SpinUntil([&] { return release.load(); });
      return 0;
    });
  });
  ASSERT_TRUE(SpinUntil([&] { return started.load() != 0; }));
  queued = std::jthread([&] { (void)pool.Run<int>([] { return 1; }); });  // fills the queue
  ASSERT_TRUE(SpinUntil([&] { return pool.queued() != 0; }));
  // One running, one queued: the next is refused at once instead of waiting.
  EXPECT_TRUE(absl::IsResourceExhausted(pool.Run<int>([] { return 2; }).status()));
}

}  // namespace
}  // namespace tessera
