// Fuzzes what an OAuth client sends the HTTP face and what the face writes back:
// "<Authorization value>\n<form body>". ParseBasicAuthorization and ParseFormBody (the production
// readers) take them apart; every value they accept is written out by JsonObject (as an answer
// or an error description would carry it). Oracles: Basic credentials always name a client; a
// body that parsed never holds a name twice (parsing it with the first pair repeated must fail);
// and whatever bytes went in, JsonObject's text is JSON that nlohmann reads back, equal to the
// value whenever the value was valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/http/form_body.h"
#include "server/http/json_object.h"

namespace {

void WriteAndReadBack(absl::string_view value) {
  tessera::JsonObject o;
  o.Add("v", value);
  std::string text = std::move(o).Text();
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.contains("v")) __builtin_trap();
  // Valid UTF-8 comes back unchanged (nlohmann's own dump refuses anything else).
  nlohmann::json probe = std::string(value);
  std::string dumped;
  try {
    dumped = probe.dump();
  } catch (const nlohmann::json::exception&) {
    return;  // not UTF-8: replaced, which the parse above already showed to be JSON
  }
  if (parsed["v"].get<std::string>() != value) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  size_t newline = in.find('\n');
  absl::string_view authorization = in.substr(0, newline);
  absl::string_view body =
      newline == absl::string_view::npos ? absl::string_view() : in.substr(newline + 1);

  auto basic = tessera::ParseBasicAuthorization(authorization);
  if (basic.ok() && basic->has_value()) {
    if ((*basic)->id.empty()) __builtin_trap();
    WriteAndReadBack((*basic)->id);
    WriteAndReadBack((*basic)->secret);
  }
  auto form = tessera::ParseFormBody(body);
  if (!form.ok()) {
    WriteAndReadBack(form.status().message());
    return 0;
  }
  size_t amp = body.find('&');
  absl::string_view first = body.substr(0, amp);
  if (!first.empty() && first.find('=') != 0) {
    // The first pair again: a name sent twice is refused, whatever its value.
    if (tessera::ParseFormBody(absl::StrCat(body, "&", first)).ok()) __builtin_trap();
  }
  for (const char* name : {"grant_type", "token", "scope", "client_id", "username", "password"}) {
    WriteAndReadBack(form->Get(name));
    for (const std::string& item : form->GetList(name)) {
      if (item.empty() || item.find(' ') != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
