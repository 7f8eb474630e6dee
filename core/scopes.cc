#include "core/scopes.h"

namespace tessera {

bool IsValidScope(absl::string_view scope) {
  if (scope.empty() || scope.size() > kMaxScopeLength) return false;
  if (scope.front() < 'a' || scope.front() > 'z') return false;
  bool segment_empty = false;
  for (char c : scope) {
    if (c == ':') {
      if (segment_empty) return false;
      segment_empty = true;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
    segment_empty = false;
  }
  return !segment_empty;
}

ScopeSet ScopeSet::IntersectHeld(const ScopeSet& held) const {
  ScopeSet out;
  if (Contains(kAdminScope)) return held;
  for (const auto& s : scopes_) {
    if (held.Grants(s)) out.Add(s);
  }
  return out;
}

}  // namespace tessera
