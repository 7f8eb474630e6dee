// What an OAuth client sends, read strictly: form bodies (RFC 6749 Appendix B) and Basic client
// credentials (RFC 6749 §2.3.1). A parameter sent twice is refused even when its values agree,
// one sent without a value counts as omitted, and malformed escapes are errors, not guesses.
#include "server/http/form_body.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

namespace tessera {
namespace {

TEST(FormBodyTest, DecodesEscapesAndPlusAsSpace) {
  auto form = ParseFormBody("grant_type=password&username=ann%40example.com&scope=a+b%20c");
  ASSERT_TRUE(form.ok()) << form.status();
  EXPECT_EQ(form->Get("username"), "ann@example.com");
  EXPECT_EQ(form->GetList("scope"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(form->Get("absent"), "");
  EXPECT_FALSE(form->Has("absent"));
}

TEST(FormBodyTest, ARepeatedParameterIsRefusedNamingIt) {
  for (const char* body :
       {"grant_type=password&grant_type=password", "a=1&a=", "a=&a=1", "a=1&%61=2"}) {
    auto form = ParseFormBody(body);
    ASSERT_FALSE(form.ok()) << body;
    EXPECT_EQ(form.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(form.status().message().find("sent more than once"), absl::string_view::npos)
        << form.status();
  }
}

// An unencoded password split at '&' becomes names; an error repeats none of them.
TEST(FormBodyTest, ErrorsRepeatOnlyNamesShapedLikeOAuths) {
  auto form = ParseFormBody("password=hunter2&Secret-Part!x=1&Secret-Part!x=2");
  ASSERT_FALSE(form.ok());
  EXPECT_EQ(form.status().message(), "a parameter: sent more than once");
  EXPECT_EQ(ParseFormBody("scope=a&scope=b").status().message(), "scope: sent more than once");
}

TEST(FormBodyTest, AParameterWithoutAValueIsOmitted) {
  auto form = ParseFormBody("scope=&audience&grant_type=x");
  ASSERT_TRUE(form.ok());
  EXPECT_FALSE(form->Has("scope"));
  EXPECT_FALSE(form->Has("audience"));
  EXPECT_EQ(form->Get("grant_type"), "x");
}

TEST(FormBodyTest, MalformedEscapesAndTooManyParametersAreRefused) {
  for (const char* body : {"a=%", "a=%4", "a=%zz", "%=1", "=1"}) {
    EXPECT_FALSE(ParseFormBody(body).ok()) << body;
  }
  std::string many;
  for (int i = 0; i < 65; ++i) many += "p" + std::to_string(i) + "=1&";
  EXPECT_FALSE(ParseFormBody(many).ok());
}

TEST(BasicAuthorizationTest, ReadsFormEncodedIdAndSecret) {
  std::string value = "Basic " + absl::Base64Escape("tss_key%3A1:s%2Bcret:with:colons");
  auto creds = ParseBasicAuthorization(value);
  ASSERT_TRUE(creds.ok()) << creds.status();
  ASSERT_TRUE(creds->has_value());
  EXPECT_EQ((*creds)->id, "tss_key:1");
  EXPECT_EQ((*creds)->secret, "s+cret:with:colons");
  auto lower = ParseBasicAuthorization("basic " + absl::Base64Escape("id:"));
  ASSERT_TRUE(lower.ok() && lower->has_value());
  EXPECT_EQ((*lower)->secret, "");
}

TEST(BasicAuthorizationTest, OtherSchemesAreNotBasicAndMalformedBasicIsAnError) {
  auto bearer = ParseBasicAuthorization("Bearer eyJ");
  ASSERT_TRUE(bearer.ok());
  EXPECT_FALSE(bearer->has_value());
  for (std::string bad :
       {std::string("Basic !!!"), "Basic " + absl::Base64Escape("no-colon"),
        "Basic " + absl::Base64Escape(":secret-without-id"), std::string("Basic ")}) {
    EXPECT_FALSE(ParseBasicAuthorization(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tessera
