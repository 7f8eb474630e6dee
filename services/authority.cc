#include "services/authority.h"

#include "absl/strings/str_cat.h"

namespace tessera {

absl::Status RequireScope(const Principal& caller, absl::string_view scope) {
  if (caller.scopes.Grants(scope)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("missing scope ", scope));
}

absl::Status RequireHeld(const Principal& caller, const ScopeSet& wanted, absl::string_view field) {
  for (const std::string& s : wanted.items()) {
    if (!caller.scopes.Grants(s)) {
      return absl::PermissionDeniedError(
          absl::StrCat(field, ": \"", s, "\" is not held by the caller"));
    }
  }
  return absl::OkStatus();
}

absl::Status RequireAuthorityOver(const Principal& caller, const AccountPermissions& target,
                                  absl::string_view field) {
  for (const std::string& s : target.scopes.items()) {
    if (!caller.scopes.Grants(s)) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": the account holds scopes the caller does not; acting on it needs them all"));
    }
  }
  return absl::OkStatus();
}

absl::Status RequireAuthorityOver(const AuthSnapshot& snapshot, const Principal& caller,
                                  absl::string_view account_id, absl::string_view field) {
  auto target = snapshot.FindAccount(caller.org_id, std::string(account_id));
  if (!target.ok()) return target.status();
  if (*target == nullptr) return absl::NotFoundError(absl::StrCat(field, ": account not found"));
  return RequireAuthorityOver(caller, **target, field);
}

bool IsPlatformAdmin(const Principal& caller) {
  return caller.platform && caller.scopes.Contains(kAdminScope);
}

}  // namespace tessera
