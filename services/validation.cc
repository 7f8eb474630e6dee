#include "services/validation.h"

#include "absl/strings/str_cat.h"
#include "core/names.h"

namespace tessera {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool HasControl(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max,
                       bool required) {
  if (value.empty()) return required ? Invalid(field, "required") : absl::OkStatus();
  if (value.size() > max) return Invalid(field, absl::StrCat("longer than ", max, " bytes"));
  if (!IsValidUtf8(value) || HasControl(value)) return Invalid(field, "not valid UTF-8 text");
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckName(absl::string_view field, absl::string_view value, size_t max,
                                      bool required) {
  if (auto s = CheckText(field, value, max, required); !s.ok()) return s;
  if (value.empty()) return std::string();
  auto name = CanonicalName(value);
  if (!name.ok()) return Invalid(field, name.status().message());
  if (name->size() > max) return Invalid(field, absl::StrCat("longer than ", max, " bytes"));
  return name;
}

absl::Status CheckSlug(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "required");
  if (value.size() > 63) return Invalid(field, "longer than 63 characters");
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return Invalid(field, "must match [a-z0-9][a-z0-9-]*");
  }
  return absl::OkStatus();
}

absl::Status CheckRoleName(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "required");
  if (value.size() > 64) return Invalid(field, "longer than 64 characters");
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool ok = alnum || (i > 0 && (c == '_' || c == '.' || c == ':' || c == '-'));
    if (!ok) return Invalid(field, "must match [a-z0-9][a-z0-9_.:-]*");
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "required");
  if (value.size() != 36) return Invalid(field, "not a valid ID");
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool ok = dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return Invalid(field, "not a valid ID");
  }
  return absl::OkStatus();
}

absl::StatusOr<ScopeSet> ParseScopes(absl::string_view field,
                                     const std::vector<std::string>& scopes) {
  if (scopes.size() > 100) return Invalid(field, "more than 100 scopes");
  ScopeSet out;
  for (const auto& s : scopes) {
    if (!IsValidScope(s)) {
      return Invalid(field, absl::StrCat("\"", s.substr(0, kMaxScopeLength),
                                         "\" is not a valid scope (want e.g. read:shifts)"));
    }
    out.Add(s);
  }
  return out;
}

}  // namespace tessera
