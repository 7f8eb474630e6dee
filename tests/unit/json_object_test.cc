// The HTTP face's JSON answers, written without a tree: every string escaped per RFC 8259 (a
// JSON parser reads back exactly what went in), bytes that are not UTF-8 replaced rather than
// sent on, members in the order given.
#include "server/http/json_object.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tessera {
namespace {

TEST(JsonObjectTest, AParserReadsBackWhatWentIn) {
  std::string tricky = "quote\" back\\slash \n\r\t \x01 \x7f é ∑ 😀 </script>";
  JsonObject o;
  o.Add("s", tricky)
      .Add("n", int64_t{-1800000000123})
      .Add("t", true)
      .Add("f", false)
      .Add("a", std::vector<std::string>{"x", "y\"z"});
  std::string text = std::move(o).Text();
  auto parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed["s"], tricky);
  EXPECT_EQ(parsed["n"], -1800000000123);
  EXPECT_EQ(parsed["t"], true);
  EXPECT_EQ(parsed["f"], false);
  EXPECT_EQ(parsed["a"], (std::vector<std::string>{"x", "y\"z"}));
  EXPECT_EQ(text.substr(0, 5), "{\"s\":");  // in the order given
}

TEST(JsonObjectTest, BytesThatAreNotUtf8AreReplaced) {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                          std::string("\xf4\x90\x80\x80"), std::string("ok\xe2\x82"),
                          std::string("\xf5\x98\x8d")}) {  // the fuzzer found the last
    JsonObject o;
    o.Add("s", bad);
    std::string text = std::move(o).Text();
    auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << text;
    EXPECT_NE(parsed["s"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos) << text;
  }
  EXPECT_EQ(std::move(JsonObject()).Text(), "{}");
}

}  // namespace
}  // namespace tessera
