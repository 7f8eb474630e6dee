// Reading what an OAuth client sends: an `application/x-www-form-urlencoded` body (RFC 6749
// Appendix B) and HTTP Basic client credentials (RFC 6749 §2.3.1), both strictly. A name sent
// twice is refused, not resolved (RFC 6749 §3.1: parameters MUST NOT be included more than
// once), and so is a malformed escape; a parameter sent without a value counts as omitted.
//
//   auto form = ParseFormBody("grant_type=password&username=ann");
//   if (!form.ok()) return InvalidRequest(form.status());
//   std::string grant = form->Get("grant_type");  // "" when omitted
#ifndef TESSERA_SERVER_HTTP_FORM_BODY_H_
#define TESSERA_SERVER_HTTP_FORM_BODY_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

class FormBody {
 public:
  // The value of `name`, "" when it was omitted or sent empty.
  std::string Get(absl::string_view name) const;
  bool Has(absl::string_view name) const { return values_.count(std::string(name)) > 0; }
  // A space-delimited list (`scope`), in order, without empty items.
  std::vector<std::string> GetList(absl::string_view name) const;

 private:
  friend absl::StatusOr<FormBody> ParseFormBody(absl::string_view body);
  std::map<std::string, std::string> values_;
  std::set<std::string> seen_empty_;  // sent without a value: omitted, but still only once
};

// INVALID_ARGUMENT naming the parameter for a repeated one or a malformed escape; at most 64
// parameters.
absl::StatusOr<FormBody> ParseFormBody(absl::string_view body);

// Percent-decoding with '+' as a space; nullopt for a malformed escape.
std::optional<std::string> FormDecode(absl::string_view text);

struct ClientCredentials {
  std::string id;
  std::string secret;
};

// The credentials of an `Authorization: Basic` value: base64 of the form-encoded id, ':', the
// form-encoded secret. nullopt when the value is not Basic; INVALID_ARGUMENT when it is Basic
// but malformed.
absl::StatusOr<std::optional<ClientCredentials>> ParseBasicAuthorization(absl::string_view value);

}  // namespace tessera

#endif  // TESSERA_SERVER_HTTP_FORM_BODY_H_
