// The change feed's payload codec: what one replica sends, every other must read back exactly;
// anything else (another program on the channel, a newer version, a truncated line) is refused.
#include "storage/change_feed.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

Change Sample(ChangeKind kind) {
  return Change{.kind = kind,
                .org_id = "6f1c1c9e-2b52-4e43-9a55-3c0c7d1e9a10",
                .id = "Zm9vYmFy_-x",
                .expires_at = absl::FromUnixMicros(1795000000123456),
                .sent_at = absl::FromUnixMicros(1794999000654321)};
}

TEST(ChangeCodec, RoundTripsEveryKind) {
  for (ChangeKind kind :
       {ChangeKind::kAccount, ChangeKind::kAccessToken, ChangeKind::kFamily, ChangeKind::kApiKey}) {
    Change in = Sample(kind);
    auto out = DecodeChange(EncodeChange(in));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->kind, kind);
    EXPECT_EQ(out->org_id, in.org_id);
    EXPECT_EQ(out->id, in.id);
    EXPECT_EQ(out->expires_at, in.expires_at);
    EXPECT_EQ(out->sent_at, in.sent_at);
  }
  Change keys{.kind = ChangeKind::kSigningKeys, .sent_at = absl::FromUnixMicros(42)};
  auto out = DecodeChange(EncodeChange(keys));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->kind, ChangeKind::kSigningKeys);
  EXPECT_TRUE(out->org_id.empty());
  EXPECT_TRUE(out->id.empty());
  EXPECT_EQ(out->sent_at, absl::FromUnixMicros(42));
  // A marker names itself but no organization.
  auto marker = DecodeChange(EncodeChange(Change{.kind = ChangeKind::kMarker, .id = "m1"}));
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(marker->kind, ChangeKind::kMarker);
  EXPECT_EQ(marker->id, "m1");
  EXPECT_FALSE(DecodeChange("v1 marker - - 0 0").ok());  // a marker without its ID
}

TEST(ChangeCodec, IsCompact) {
  // PostgreSQL refuses payloads of 8000 bytes or more; ours stay a small fraction of that.
  EXPECT_LT(EncodeChange(Sample(ChangeKind::kFamily)).size(), 128u);
}

TEST(ChangeCodec, RefusesWhatItDidNotWrite) {
  std::string good = EncodeChange(Sample(ChangeKind::kAccessToken));
  ASSERT_TRUE(DecodeChange(good).ok());
  for (const std::string& bad : {
           std::string(""), std::string("hello"),
           "v2" + good.substr(2),                           // a newer version
           good.substr(0, good.size() - 3) + " 1",          // a field too many
           good.substr(0, good.rfind(' ')),                 // truncated
           std::string("v1 role org id 1 2"),               // unknown kind
           std::string("v1 jti - id 1 2"),                  // a revocation without its org
           std::string("v1 account org - 1 2"),             // an account change without its ID
           std::string("v1 jti org id;DROP 1 2"),           // not a plain token
           std::string("v1 jti org id 1x 2"),               // not a number
           std::string("v1 jti org  id 1 2"),               // empty field
           "v1 jti org " + std::string(200, 'a') + " 1 2",  // absurdly long ID
       }) {
    EXPECT_FALSE(DecodeChange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tessera
