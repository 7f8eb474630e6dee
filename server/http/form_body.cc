#include "server/http/form_body.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tessera {
namespace {

constexpr size_t kMaxParameters = 64;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A parameter's name as an error may repeat it: a client that did not encode a password could
// have split it into names, so only names shaped like OAuth's own are repeated.
std::string Named(absl::string_view name) {
  bool plain = !name.empty() && name.size() <= 32;
  for (char c : name)
    plain = plain && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_');
  return plain ? std::string(name) : "a parameter";
}

}  // namespace

std::string FormBody::Get(absl::string_view name) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? "" : it->second;
}

std::vector<std::string> FormBody::GetList(absl::string_view name) const {
  return absl::StrSplit(Get(name), ' ', absl::SkipEmpty());
}

std::optional<std::string> FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<FormBody> ParseFormBody(absl::string_view body) {
  FormBody form;
  size_t count = 0;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    if (++count > kMaxParameters) {
      return absl::InvalidArgumentError(
          absl::StrCat("body: more than ", kMaxParameters, " parameters"));
    }
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    auto name = FormDecode(kv.first);
    if (!name || name->empty()) {
      return absl::InvalidArgumentError("body: a parameter name is malformed");
    }
    auto value = FormDecode(kv.second);
    if (!value) return absl::InvalidArgumentError(absl::StrCat(Named(*name), ": malformed escape"));
    if (form.values_.count(*name) > 0 || form.seen_empty_.count(*name) > 0) {
      return absl::InvalidArgumentError(absl::StrCat(Named(*name), ": sent more than once"));
    }
    // RFC 6749 §3.1: a parameter without a value is treated as omitted.
    if (value->empty()) {
      form.seen_empty_.insert(*name);
    } else {
      form.values_.emplace(*std::move(name), *std::move(value));
    }
  }
  return form;
}

absl::StatusOr<std::optional<ClientCredentials>> ParseBasicAuthorization(absl::string_view value) {
  size_t space = value.find(' ');
  if (space == absl::string_view::npos ||
      !absl::EqualsIgnoreCase(value.substr(0, space), "basic")) {
    return std::nullopt;
  }
  auto bad = [] {
    return absl::InvalidArgumentError("authorization: malformed Basic credentials");
  };
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(value.substr(space + 1)), &decoded)) {
    return bad();
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return bad();
  auto id = FormDecode(absl::string_view(decoded).substr(0, colon));
  auto secret = FormDecode(absl::string_view(decoded).substr(colon + 1));
  if (!id || !secret || id->empty()) return bad();
  return ClientCredentials{.id = *std::move(id), .secret = *std::move(secret)};
}

}  // namespace tessera
