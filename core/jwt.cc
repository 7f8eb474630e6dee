#include "core/jwt.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/encoding.h"

namespace tessera {
namespace {

using json = nlohmann::json;

absl::Status Reject(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid access token: ", why));
}

absl::StatusOr<json> DecodeJsonPart(absl::string_view part) {
  auto raw = Base64UrlDecode(part);
  if (!raw) return Reject("bad base64url");
  json j = json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Reject("not a JSON object");
  return j;
}

bool GetString(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetInt(const json& j, const char* name, int64_t* out) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

}  // namespace

bool LooksLikeJwt(absl::string_view token) {
  if (token.empty() || token.size() > kMaxJwtLength) return false;
  int dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return false;
    }
  }
  return dots == 2;
}

absl::StatusOr<std::string> EncodeAccessToken(const AccessTokenClaims& c, const SigningKey& key) {
  json header = {
      {"typ", "at+jwt"}, {"alg", std::string(SigningAlgName(key.alg()))}, {"kid", key.kid()}};
  json payload = {{"iss", c.iss},
                  {"sub", c.sub},
                  {"exp", c.exp},
                  {"iat", c.iat},
                  {"nbf", c.nbf},
                  {"jti", c.jti},
                  {"client_id", c.client_id},
                  {"scope", absl::StrJoin(c.scopes, " ")},
                  {"org_id", c.org_id}};
  if (!c.sid.empty()) payload["sid"] = c.sid;
  if (c.aud.size() == 1) {
    payload["aud"] = c.aud[0];
  } else {
    payload["aud"] = c.aud;
  }
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(payload.dump()));
  auto sig = key.Sign(signing_input);
  if (!sig.ok()) return sig.status();
  return absl::StrCat(signing_input, ".", Base64UrlEncode(*sig));
}

absl::StatusOr<AccessTokenClaims> VerifyAccessToken(absl::string_view token,
                                                    const VerificationKeySource& keys,
                                                    absl::Time now, const VerifyOptions& options) {
  if (!LooksLikeJwt(token)) return Reject("not a compact JWS");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  auto header = DecodeJsonPart(parts[0]);
  if (!header.ok()) return header.status();

  std::string alg, typ, kid;
  if (!GetString(*header, "alg", &alg)) return Reject("missing alg");
  if (header->contains("crit")) return Reject("unsupported crit header");
  if (!GetString(*header, "typ", &typ)) return Reject("missing typ");
  std::string typ_lower = absl::AsciiStrToLower(typ);
  if (typ_lower != "at+jwt" && typ_lower != "application/at+jwt") return Reject("wrong typ");
  if (!GetString(*header, "kid", &kid)) return Reject("missing kid");

  // The key decides the algorithm; a header asking for any other one (none, HS256, a different
  // asymmetric algorithm) is refused before the signature is looked at.
  auto key = keys.FindVerificationKey(kid, now);
  if (key == nullptr) return Reject("unknown kid");
  if (alg != SigningAlgName(key->alg())) return Reject("alg does not match the key");

  auto signature = Base64UrlDecode(parts[2]);
  if (!signature) return Reject("bad signature encoding");
  absl::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (!key->Verify(signing_input, *signature)) return Reject("bad signature");

  auto payload = DecodeJsonPart(parts[1]);
  if (!payload.ok()) return payload.status();
  AccessTokenClaims c;
  c.kid = kid;
  std::string scope;
  if (!GetString(*payload, "iss", &c.iss) || !GetString(*payload, "sub", &c.sub) ||
      !GetInt(*payload, "exp", &c.exp) || !GetInt(*payload, "iat", &c.iat) ||
      !GetString(*payload, "jti", &c.jti) || !GetString(*payload, "client_id", &c.client_id) ||
      !GetString(*payload, "org_id", &c.org_id)) {
    return Reject("missing or mistyped required claim");
  }
  if (payload->contains("nbf") && !GetInt(*payload, "nbf", &c.nbf)) return Reject("bad nbf");
  if (payload->contains("sid") && !GetString(*payload, "sid", &c.sid)) return Reject("bad sid");
  if (payload->contains("scope") && !GetString(*payload, "scope", &scope)) {
    return Reject("bad scope");
  }
  for (absl::string_view s : absl::StrSplit(scope, ' ', absl::SkipEmpty()))
    c.scopes.emplace_back(s);
  auto aud = payload->find("aud");
  if (aud == payload->end()) return Reject("missing aud");
  if (aud->is_string()) {
    c.aud.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return Reject("bad aud");
      c.aud.push_back(a.get<std::string>());
    }
  } else {
    return Reject("bad aud");
  }

  if (c.iss != options.issuer) return Reject("wrong iss");
  int64_t t = absl::ToUnixSeconds(now);
  int64_t leeway = absl::ToInt64Seconds(options.leeway);
  if (t >= c.exp + leeway) return Reject("expired");
  if (c.nbf != 0 && t + leeway < c.nbf) return Reject("not yet valid");
  if (t + leeway < c.iat) return Reject("issued in the future");
  return c;
}

}  // namespace tessera
