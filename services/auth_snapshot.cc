#include "services/auth_snapshot.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tessera {

AuthSnapshot::AuthSnapshot(const Clock& clock, SnapshotStore& store, SnapshotOptions options,
                           std::function<absl::Status()> reload_keys)
    : clock_(clock),
      store_(store),
      options_(options),
      reload_keys_(std::move(reload_keys)) {}

void AuthSnapshot::AddRevoked(RevokedMap& map, const std::string& org_id, const std::string& id,
                              absl::Time expires_at) {
  Revoked& r = map[id];
  r.org_id = org_id;
  r.expires_at = std::max(r.expires_at, expires_at);
}

absl::Status AuthSnapshot::Apply(const Change& change) {
  absl::MutexLock apply(&apply_mu_);
  switch (change.kind) {
    case ChangeKind::kAccount:
      return ApplyAccount(change);
    case ChangeKind::kAccessToken: {
      absl::MutexLock l(&mu_);
      AddRevoked(revoked_tokens_, change.org_id, change.id, change.expires_at);
      return absl::OkStatus();
    }
    case ChangeKind::kFamily: {
      absl::MutexLock l(&mu_);
      AddRevoked(revoked_families_, change.org_id, change.id,
                 change.expires_at + options_.family_tail);
      return absl::OkStatus();
    }
    case ChangeKind::kSigningKeys:
      return reload_keys_ ? reload_keys_() : absl::OkStatus();
  }
  return absl::InternalError("unknown change kind");
}

absl::Status AuthSnapshot::ApplyAccount(const Change& change) {
  auto account = store_.LoadAccount(change.org_id, change.id);
  if (!account.ok()) return account.status();
  absl::MutexLock l(&mu_);
  if (account->has_value()) {
    accounts_[change.id] = std::make_shared<const AccountPermissions>(**std::move(account));
  } else {
    accounts_.erase(change.id);
  }
  return absl::OkStatus();
}

absl::Status AuthSnapshot::Resync() {
  absl::MutexLock apply(&apply_mu_);
  if (reload_keys_) {
    if (absl::Status s = reload_keys_(); !s.ok()) return s;
  }
  auto data = store_.LoadAll(clock_.Now(), options_.family_tail);
  if (!data.ok()) return data.status();
  AccountMap accounts;
  accounts.reserve(data->accounts.size());
  for (AccountPermissions& a : data->accounts) {
    std::string id = a.account_id;
    accounts.emplace(std::move(id), std::make_shared<const AccountPermissions>(std::move(a)));
  }
  RevokedMap tokens, families;
  for (const RevokedEntry& e : data->access_tokens) AddRevoked(tokens, e.org_id, e.id, e.expires_at);
  for (const RevokedEntry& e : data->families) {
    AddRevoked(families, e.org_id, e.id, e.expires_at + options_.family_tail);
  }
  absl::MutexLock l(&mu_);
  accounts_.swap(accounts);
  revoked_tokens_.swap(tokens);
  revoked_families_.swap(families);
  loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const AccountPermissions>> AuthSnapshot::ActiveAccount(
    const AccessTokenClaims& c) const {
  auto revoked_in = [&](const RevokedMap& map, const std::string& id) {
    auto it = map.find(id);
    return it != map.end() && it->second.org_id == c.org_id;
  };
  absl::ReaderMutexLock l(&mu_);
  if (!loaded_) return absl::UnavailableError("introspection snapshot not loaded yet");
  auto it = accounts_.find(c.sub);
  if (it == accounts_.end()) return nullptr;
  const std::shared_ptr<const AccountPermissions>& account = it->second;
  if (account->org_id != c.org_id || account->disabled) return nullptr;
  if (revoked_in(revoked_tokens_, c.jti)) return nullptr;
  if (!c.sid.empty() && revoked_in(revoked_families_, c.sid)) return nullptr;
  // A token issued in the same second as a "log out everywhere" counts as revoked: iat has
  // second precision, and erring towards revoked is the safe side.
  if (account->tokens_valid_after &&
      absl::ToUnixMicros(*account->tokens_valid_after) >= c.iat * 1000000) {
    return nullptr;
  }
  return account;
}

void AuthSnapshot::Prune() {
  absl::Time horizon = clock_.Now();
  absl::MutexLock l(&mu_);
  for (RevokedMap* map : {&revoked_tokens_, &revoked_families_}) {
    for (auto it = map->begin(); it != map->end();) {
      if (it->second.expires_at <= horizon) {
        map->erase(it++);  // flat_hash_map::erase(iterator) leaves other iterators valid
      } else {
        ++it;
      }
    }
  }
}

AuthSnapshot::Sizes AuthSnapshot::sizes() const {
  absl::ReaderMutexLock l(&mu_);
  return Sizes{.accounts = accounts_.size(),
               .revoked_tokens = revoked_tokens_.size(),
               .revoked_families = revoked_families_.size()};
}

bool AuthSnapshot::loaded() const {
  absl::ReaderMutexLock l(&mu_);
  return loaded_;
}

}  // namespace tessera
