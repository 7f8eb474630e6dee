// JsonObject: the JSON objects the HTTP face answers with, written straight into one string.
// Introspection answers are on the hot path, and a tree of nlohmann::json nodes (a map node and
// a string per member) cost a tenth of a cached introspection's time; members here are appended
// in the order given, escaped per RFC 8259.
//
//   JsonObject o;
//   o.Add("active", true).Add("scope", "a b").Add("exp", int64_t{1800000000});
//   res.set_content(o.Text(), "application/json");  // {"active":true,"scope":"a b",...}
#ifndef TESSERA_SERVER_HTTP_JSON_OBJECT_H_
#define TESSERA_SERVER_HTTP_JSON_OBJECT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tessera {

class JsonObject {
 public:
  JsonObject& Add(absl::string_view key, absl::string_view value);
  JsonObject& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  JsonObject& Add(absl::string_view key, int64_t value);
  JsonObject& Add(absl::string_view key, bool value);
  JsonObject& Add(absl::string_view key, const std::vector<std::string>& values);
  // The object, closed. The builder is spent.
  std::string Text() &&;

 private:
  void Key(absl::string_view key);
  std::string out_ = "{";
};

// `text` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, absl::string_view text);

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_JSON_OBJECT_H_
