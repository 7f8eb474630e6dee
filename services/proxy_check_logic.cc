#include "services/proxy_check_logic.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/authority.h"
#include "services/introspection_logic.h"
#include "services/validation.h"

namespace tessera {

bool RoutePolicy::Concerns(absl::string_view key) {
  return absl::StartsWithIgnoreCase(absl::StripLeadingAsciiWhitespace(key), "tessera");
}

absl::StatusOr<RoutePolicy> RoutePolicy::Parse(
    const std::vector<std::pair<std::string, std::string>>& extensions) {
  RoutePolicy policy;
  for (const auto& [key, value] : extensions) {
    if (!Concerns(key)) continue;
    std::string field = absl::StrCat("context_extensions[", key, "]");
    if (key == kRequiredScopes) {
      std::vector<std::string> scopes =
          absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      auto parsed = ParseScopes(field, scopes);
      if (!parsed.ok()) return parsed.status();
      policy.required_scopes = *std::move(parsed);
    } else if (key == kOrgId) {
      if (auto s = CheckId(field, value); !s.ok()) return s;
      policy.org_id = value;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": unknown; tessera reads ", kRequiredScopes, " and ", kOrgId));
    }
  }
  return policy;
}

absl::StatusOr<std::optional<Principal>> ProxyCheckLogic::Caller(const CallContext& call) {
  auto caller = RelayingCaller(checks_, call, options_.by_client_certificate);
  if (!caller.ok() || !caller->has_value()) return caller;
  if (auto s = RequireScope(**caller, kScopeTokensIntrospect); !s.ok()) return s;
  return caller;
}

absl::StatusOr<Principal> ProxyCheckLogic::Check(const Principal* proxy,
                                                 const CallContext& presented,
                                                 const RoutePolicy& policy) {
  const std::string* visible_org = proxy == nullptr || proxy->platform ? nullptr : &proxy->org_id;
  auto principal = checks_.AuthenticateCaller(presented, visible_org);
  if (!principal.ok()) return principal.status();
  if (!policy.org_id.empty() && principal->org_id != policy.org_id) {
    return absl::PermissionDeniedError("this route serves another organization");
  }
  std::vector<std::string> missing;
  for (const std::string& scope : policy.required_scopes.items()) {
    if (!principal->scopes.Grants(scope)) missing.push_back(scope);
  }
  if (!missing.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("missing scope: ", absl::StrJoin(missing, " ")));
  }
  return principal;
}

}  // namespace tessera
