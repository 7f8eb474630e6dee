// Access-token encoding and verification: round trips for each algorithm and every rejection the
// verifier promises (none, HS*, alg confusion, typ, signature, iss, exp, nbf, tampering).
#include "core/jwt.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "core/encoding.h"
#include "core/key_ring.h"

namespace tessera {
namespace {

constexpr int64_t kNow = 1'800'000'000;

AccessTokenClaims Claims() {
  AccessTokenClaims c;
  c.iss = "https://tessera.test";
  c.sub = "acct-1";
  c.aud = {"svc"};
  c.iat = kNow;
  c.nbf = kNow;
  c.exp = kNow + 900;
  c.jti = "jti-1";
  c.client_id = "acct-1";
  c.scopes = {"read:shifts", "write:leave_requests"};
  c.org_id = "org-1";
  c.sid = "family-1";
  return c;
}

class JwtTest : public ::testing::TestWithParam<SigningAlg> {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate(GetParam(), "k1");
    ASSERT_TRUE(key.ok());
    key_ = std::shared_ptr<const SigningKey>(std::move(*key));
    ring_.Replace({KeyRingEntry{.key = key_}});
  }
  absl::StatusOr<AccessTokenClaims> Verify(absl::string_view token, int64_t now = kNow) {
    return VerifyAccessToken(token, ring_, absl::FromUnixSeconds(now),
                             VerifyOptions{.issuer = "https://tessera.test"});
  }
  std::string Sign(const AccessTokenClaims& c) {
    auto t = EncodeAccessToken(c, *key_);
    EXPECT_TRUE(t.ok()) << t.status();
    return *t;
  }
  // Re-signs a token with a hand-made header and payload, using the real key.
  std::string Forge(const nlohmann::json& header, const nlohmann::json& payload) {
    std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
    auto sig = key_->Sign(input);
    EXPECT_TRUE(sig.ok());
    return input + "." + Base64UrlEncode(*sig);
  }
  nlohmann::json Header() {
    return {{"typ", "at+jwt"}, {"alg", std::string(SigningAlgName(GetParam()))}, {"kid", "k1"}};
  }
  nlohmann::json Payload() {
    return {{"iss", "https://tessera.test"},
            {"sub", "acct-1"},
            {"aud", "svc"},
            {"exp", kNow + 900},
            {"iat", kNow},
            {"nbf", kNow},
            {"jti", "j"},
            {"client_id", "c"},
            {"scope", "a b"},
            {"org_id", "org-1"}};
  }

  std::shared_ptr<const SigningKey> key_;
  KeyRing ring_;
};

TEST_P(JwtTest, RoundTripKeepsEveryClaim) {
  auto c = Verify(Sign(Claims()));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sub, "acct-1");
  EXPECT_EQ(c->org_id, "org-1");
  EXPECT_EQ(c->client_id, "acct-1");
  EXPECT_EQ(c->jti, "jti-1");
  EXPECT_EQ(c->sid, "family-1");
  EXPECT_EQ(c->exp, kNow + 900);
  EXPECT_EQ(c->aud, std::vector<std::string>{"svc"});
  EXPECT_EQ(c->scopes, (std::vector<std::string>{"read:shifts", "write:leave_requests"}));
}

TEST_P(JwtTest, HeaderIsRfc9068) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  auto header = nlohmann::json::parse(*Base64UrlDecode(parts[0]));
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["kid"], "k1");
  EXPECT_EQ(header["alg"], std::string(SigningAlgName(GetParam())));
}

TEST_P(JwtTest, RejectsAlgNone) {
  auto h = Header();
  h["alg"] = "none";
  std::string input = Base64UrlEncode(h.dump()) + "." + Base64UrlEncode(Payload().dump());
  EXPECT_FALSE(Verify(input + ".").ok());
  EXPECT_FALSE(Verify(Forge(h, Payload())).ok());
}

TEST_P(JwtTest, RejectsHmacAlgorithms) {
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    auto h = Header();
    h["alg"] = alg;
    EXPECT_TRUE(absl::IsUnauthenticated(Verify(Forge(h, Payload())).status())) << alg;
  }
}

TEST_P(JwtTest, RejectsAnotherAsymmetricAlgorithmThanTheKeys) {
  for (const char* alg : {"ES256", "RS256", "EdDSA", "PS256", "ES384"}) {
    if (alg == SigningAlgName(GetParam())) continue;
    auto h = Header();
    h["alg"] = alg;
    EXPECT_FALSE(Verify(Forge(h, Payload())).ok()) << alg;
  }
}

TEST_P(JwtTest, RejectsWrongOrMissingTyp) {
  auto h = Header();
  h["typ"] = "JWT";
  EXPECT_FALSE(Verify(Forge(h, Payload())).ok());
  h.erase("typ");
  EXPECT_FALSE(Verify(Forge(h, Payload())).ok());
  h["typ"] = "application/at+jwt";
  EXPECT_TRUE(Verify(Forge(h, Payload())).ok());
}

TEST_P(JwtTest, RejectsUnknownKid) {
  auto h = Header();
  h["kid"] = "other";
  EXPECT_FALSE(Verify(Forge(h, Payload())).ok());
}

TEST_P(JwtTest, RejectsBadSignature) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string sig = *Base64UrlDecode(parts[2]);
  sig[sig.size() / 2] ^= 0x01;
  EXPECT_FALSE(Verify(parts[0] + "." + parts[1] + "." + Base64UrlEncode(sig)).ok());
  EXPECT_FALSE(Verify(parts[0] + "." + parts[1] + ".").ok());
}

TEST_P(JwtTest, RejectsSignatureOfAnotherKeyWithSameKid) {
  auto other = SigningKey::Generate(GetParam(), "k1");
  ASSERT_TRUE(other.ok());
  auto token = EncodeAccessToken(Claims(), **other);
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(Verify(*token).ok());
}

TEST_P(JwtTest, RejectsTamperedPayload) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  auto payload = nlohmann::json::parse(*Base64UrlDecode(parts[1]));
  payload["scope"] = "admin";
  EXPECT_FALSE(Verify(parts[0] + "." + Base64UrlEncode(payload.dump()) + "." + parts[2]).ok());
  payload = nlohmann::json::parse(*Base64UrlDecode(parts[1]));
  payload["org_id"] = "org-2";
  EXPECT_FALSE(Verify(parts[0] + "." + Base64UrlEncode(payload.dump()) + "." + parts[2]).ok());
}

TEST_P(JwtTest, RejectsTamperedHeader) {
  std::string token = Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  auto h = Header();
  h["extra"] = 1;
  EXPECT_FALSE(Verify(Base64UrlEncode(h.dump()) + "." + parts[1] + "." + parts[2]).ok());
}

TEST_P(JwtTest, RejectsWrongIssuer) {
  auto c = Claims();
  c.iss = "https://evil.test";
  EXPECT_FALSE(Verify(Sign(c)).ok());
}

TEST_P(JwtTest, ExpiryHonoursSmallLeeway) {
  std::string token = Sign(Claims());
  EXPECT_TRUE(Verify(token, kNow + 900 + 5).ok());    // within the 10 s leeway
  EXPECT_FALSE(Verify(token, kNow + 900 + 10).ok());  // past it
}

TEST_P(JwtTest, RejectsNotYetValid) {
  auto c = Claims();
  c.nbf = kNow + 60;
  c.iat = kNow + 60;
  c.exp = kNow + 960;
  EXPECT_FALSE(Verify(Sign(c)).ok());
  EXPECT_TRUE(Verify(Sign(c), kNow + 55).ok());  // leeway
}

TEST_P(JwtTest, RejectsMissingOrMistypedClaims) {
  for (const char* claim : {"iss", "sub", "exp", "iat", "jti", "client_id", "org_id", "aud"}) {
    auto p = Payload();
    p.erase(claim);
    EXPECT_FALSE(Verify(Forge(Header(), p)).ok()) << claim;
  }
  auto p = Payload();
  p["exp"] = "tomorrow";
  EXPECT_FALSE(Verify(Forge(Header(), p)).ok());
  p = Payload();
  p["exp"] = 1.8e9 + 0.5;
  EXPECT_FALSE(Verify(Forge(Header(), p)).ok());
}

TEST_P(JwtTest, RejectsMalformedInput) {
  std::vector<std::string> inputs = {"",
                                     "a",
                                     "a.b",
                                     "a.b.c.d",
                                     "!!!.???.***",
                                     "e30.e30.",
                                     "..",
                                     std::string(kMaxJwtLength + 1, 'a')};
  for (const std::string& bad : inputs) {
    EXPECT_FALSE(Verify(bad).ok()) << bad.substr(0, 20);
  }
  // A valid signature over a payload that is not JSON.
  std::string input = Base64UrlEncode(Header().dump()) + "." + Base64UrlEncode("not json");
  EXPECT_FALSE(Verify(input + "." + Base64UrlEncode(*key_->Sign(input))).ok());
}

TEST_P(JwtTest, RejectsCritHeader) {
  auto h = Header();
  h["crit"] = {"exp"};
  EXPECT_FALSE(Verify(Forge(h, Payload())).ok());
}

TEST_P(JwtTest, PemRoundTripKeepsTheKey) {
  auto priv = SigningKey::FromPrivatePem(GetParam(), "k1", key_->PrivatePem());
  ASSERT_TRUE(priv.ok()) << priv.status();
  auto token = EncodeAccessToken(Claims(), **priv);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(Verify(*token).ok());
  auto pub = SigningKey::FromPublicPem(GetParam(), "k1", key_->PublicPem());
  ASSERT_TRUE(pub.ok());
  EXPECT_FALSE((*pub)->can_sign());
  EXPECT_EQ((*pub)->Jwk().x, key_->Jwk().x);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwtTest,
                         ::testing::Values(SigningAlg::kES256, SigningAlg::kRS256,
                                           SigningAlg::kEdDSA),
                         [](const auto& info) { return std::string(SigningAlgName(info.param)); });

TEST(SigningKeyTest, PemOfAnotherTypeIsRefused) {
  auto ec = SigningKey::Generate(SigningAlg::kES256, "a");
  ASSERT_TRUE(ec.ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(SigningAlg::kEdDSA, "a", (*ec)->PrivatePem()).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(SigningAlg::kRS256, "a", (*ec)->PrivatePem()).ok());
  EXPECT_FALSE(SigningKey::FromPrivatePem(SigningAlg::kES256, "a", "garbage").ok());
}

TEST(SigningKeyTest, JwkHasTheMembersOfItsKeyType) {
  auto es = *SigningKey::Generate(SigningAlg::kES256, "a");
  EXPECT_EQ(es->Jwk().kty, "EC");
  EXPECT_EQ(es->Jwk().crv, "P-256");
  EXPECT_EQ(Base64UrlDecode(es->Jwk().x)->size(), 32u);
  EXPECT_EQ(Base64UrlDecode(es->Jwk().y)->size(), 32u);
  auto rs = *SigningKey::Generate(SigningAlg::kRS256, "b");
  EXPECT_EQ(rs->Jwk().kty, "RSA");
  EXPECT_EQ(Base64UrlDecode(rs->Jwk().n)->size(), 256u);
  EXPECT_EQ(rs->Jwk().e, "AQAB");
  auto ed = *SigningKey::Generate(SigningAlg::kEdDSA, "c");
  EXPECT_EQ(ed->Jwk().kty, "OKP");
  EXPECT_EQ(ed->Jwk().crv, "Ed25519");
  EXPECT_EQ(Base64UrlDecode(ed->Jwk().x)->size(), 32u);
}

TEST(KeyRingTest, SignsWithNewestActiveKeyAndVerifiesUntilVerifyUntil) {
  auto t0 = absl::FromUnixSeconds(kNow);
  std::shared_ptr<const SigningKey> old_key = *SigningKey::Generate(SigningAlg::kES256, "old");
  std::shared_ptr<const SigningKey> new_key = *SigningKey::Generate(SigningAlg::kES256, "new");
  KeyRing ring;
  ring.Replace({KeyRingEntry{.key = old_key,
                             .activates_at = t0 - absl::Hours(1),
                             .retired_at = t0 + absl::Minutes(5),
                             .verify_until = t0 + absl::Minutes(20)},
                KeyRingEntry{.key = new_key, .activates_at = t0 + absl::Minutes(5)}});
  EXPECT_EQ((*ring.SigningKeyAt(t0))->kid(), "old");
  EXPECT_EQ((*ring.SigningKeyAt(t0 + absl::Minutes(6)))->kid(), "new");
  EXPECT_EQ(ring.Published(t0).size(), 2u);  // the new key is published before it signs
  EXPECT_NE(ring.FindVerificationKey("old", t0 + absl::Minutes(19)), nullptr);
  EXPECT_EQ(ring.FindVerificationKey("old", t0 + absl::Minutes(20)), nullptr);
  EXPECT_EQ(ring.Published(t0 + absl::Minutes(21)).size(), 1u);
  EXPECT_EQ(ring.FindVerificationKey("nope", t0), nullptr);
}

TEST(KeyRingTest, EmptyRingCannotSign) {
  KeyRing ring;
  EXPECT_TRUE(absl::IsUnavailable(ring.SigningKeyAt(absl::Now()).status()));
}

}  // namespace
}  // namespace tessera
