// Scopes and scope sets. A scope is a string such as `read:shifts`; `admin` grants every scope;
// an empty set grants nothing (fail closed). Permissions travel with a token: what a token grants
// now is its own scopes intersected with what its account holds now.
#ifndef TESSERA_CORE_SCOPES_H_
#define TESSERA_CORE_SCOPES_H_

#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tessera {

inline constexpr absl::string_view kAdminScope = "admin";
inline constexpr size_t kMaxScopeLength = 128;

// The grammar: 1 to 128 characters; segments of [a-z0-9_.-] separated by ':', starting with a
// lowercase letter. `read:shifts`, `write:leave_requests`, `tokens:introspect`, `admin`.
bool IsValidScope(absl::string_view scope);

class ScopeSet {
 public:
  ScopeSet() = default;
  explicit ScopeSet(std::set<std::string> scopes) : scopes_(std::move(scopes)) {}
  ScopeSet(std::initializer_list<std::string> scopes) : scopes_(scopes) {}
  template <typename It>
  ScopeSet(It begin, It end) : scopes_(begin, end) {}

  bool empty() const { return scopes_.empty(); }
  bool Contains(absl::string_view s) const { return scopes_.count(std::string(s)) > 0; }
  // Whether holding this set allows `required`.
  bool Grants(absl::string_view required) const {
    return Contains(kAdminScope) || Contains(required);
  }
  // The scopes of a token (this) that `held` still allows. A token scope `admin` is narrowed to
  // everything `held` has, since `admin` stood for all of it.
  ScopeSet IntersectHeld(const ScopeSet& held) const;
  void Add(std::string s) { scopes_.insert(std::move(s)); }
  void Merge(const ScopeSet& other) { scopes_.insert(other.scopes_.begin(), other.scopes_.end()); }

  const std::set<std::string>& items() const { return scopes_; }
  std::vector<std::string> ToVector() const { return {scopes_.begin(), scopes_.end()}; }

  bool operator==(const ScopeSet& o) const { return scopes_ == o.scopes_; }

 private:
  std::set<std::string> scopes_;
};

}  // namespace tessera

#endif  // TESSERA_CORE_SCOPES_H_
