#include "services/auth_snapshot.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/packed_id.h"

namespace tessera {

AuthSnapshot::AuthSnapshot(const Clock& clock, SnapshotStore& store, SnapshotOptions options,
                           std::function<absl::Status()> reload_keys)
    : clock_(clock), store_(store), options_(options), reload_keys_(std::move(reload_keys)) {}

void AuthSnapshot::AddRevoked(RevokedMap& map, const std::string& org_id, const std::string& id,
                              absl::Time expires_at) {
  int64_t expires = absl::ToUnixSeconds(expires_at);
  if (absl::FromUnixSeconds(expires) < expires_at) ++expires;
  Revoked& r = map[PackId(id)];
  r.org_id = PackId(org_id);
  r.expires_at = std::max(r.expires_at, expires);
}

absl::Status AuthSnapshot::Apply(const Change& change) {
  MutexLock apply(&apply_mu_);
  switch (change.kind) {
    case ChangeKind::kAccount:
      return ApplyAccount(change);
    case ChangeKind::kAccessToken: {
      MutexLock l(&mu_);
      AddRevoked(revoked_tokens_, change.org_id, change.id, change.expires_at);
      return absl::OkStatus();
    }
    case ChangeKind::kFamily: {
      MutexLock l(&mu_);
      AddRevoked(revoked_families_, change.org_id, change.id,
                 change.expires_at + options_.family_tail);
      return absl::OkStatus();
    }
    case ChangeKind::kSigningKeys:
      return reload_keys_ ? reload_keys_() : absl::OkStatus();
    case ChangeKind::kApiKey:
      return ApplyApiKey(change);
    case ChangeKind::kMarker:
      return absl::OkStatus();  // changes nothing (the feed keeps markers to itself anyway)
  }
  return absl::InternalError("unknown change kind");
}

void AuthSnapshot::ApplyCommitted(const Committed& committed) {
  for (const Change& c : committed.changes) {
    absl::Status s = Apply(c);
    (void)s;
  }
}

absl::Status AuthSnapshot::ApplyAccount(const Change& change) {
  auto account = store_.LoadAccount(change.org_id, change.id);
  if (!account.ok()) return account.status();
  MutexLock l(&mu_);
  if (account->has_value()) {
    accounts_[change.id] = std::make_shared<const AccountPermissions>(**std::move(account));
  } else {
    accounts_.erase(change.id);
  }
  return absl::OkStatus();
}

absl::Status AuthSnapshot::ApplyApiKey(const Change& change) {
  auto key = store_.LoadApiKey(change.org_id, change.id, clock_.Now());
  if (!key.ok()) return key.status();
  MutexLock l(&mu_);
  if (auto it = key_digests_.find(change.id); it != key_digests_.end()) {
    api_keys_.erase(it->second);
    key_digests_.erase(it);
  }
  if (key->has_value()) {
    key_digests_[change.id] = (*key)->digest;
    std::string digest = (*key)->digest;
    api_keys_[digest] = std::make_shared<const ApiKeyCredential>(**std::move(key));
  }
  return absl::OkStatus();
}

absl::Status AuthSnapshot::Resync() {
  MutexLock apply(&apply_mu_);
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
  KeyMap keys;
  absl::flat_hash_map<std::string, std::string> key_digests;
  keys.reserve(data->api_keys.size());
  for (ApiKeyCredential& k : data->api_keys) {
    key_digests[k.id] = k.digest;
    std::string digest = k.digest;
    keys[digest] = std::make_shared<const ApiKeyCredential>(std::move(k));
  }
  RevokedMap tokens, families;
  for (const RevokedEntry& e : data->access_tokens)
    AddRevoked(tokens, e.org_id, e.id, e.expires_at);
  for (const RevokedEntry& e : data->families) {
    AddRevoked(families, e.org_id, e.id, e.expires_at + options_.family_tail);
  }
  MutexLock l(&mu_);
  accounts_.swap(accounts);
  revoked_tokens_.swap(tokens);
  revoked_families_.swap(families);
  api_keys_.swap(keys);
  key_digests_.swap(key_digests);
  loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const AccountPermissions>> AuthSnapshot::ActiveAccount(
    const AccessTokenClaims& c) const {
  auto revoked_in = [&](const RevokedMap& map, const std::string& id) {
    auto it = map.find(PackId(id));
    return it != map.end() && it->second.org_id == PackId(c.org_id);  // packed on a hit only
  };
  ReaderMutexLock l(&mu_);
  if (!loaded_) return absl::UnavailableError("introspection snapshot not loaded yet");
  std::shared_ptr<const AccountPermissions> account = EnabledAccount(c.org_id, c.sub);
  if (account == nullptr) return nullptr;
  if (revoked_in(revoked_tokens_, c.jti)) return nullptr;
  if (!c.sid.empty() && revoked_in(revoked_families_, c.sid)) return nullptr;
  // A token issued in the same second as a "log out everywhere" counts as revoked: iat has
  // second precision, and erring towards revoked is the safe side.
  if (account->tokens_valid_after &&
      absl::ToUnixMicros(*account->tokens_valid_after) >= c.iat * 1000000) {
    return nullptr;
  }
  if (!c.client_id.empty() && c.client_id != c.sub) {
    auto id = key_digests_.find(c.client_id);
    if (id == key_digests_.end()) return nullptr;  // the key it was minted from is gone
    const ApiKeyCredential& key = *api_keys_.at(id->second);
    if (key.org_id != c.org_id || key.expires_at <= clock_.Now()) return nullptr;
  }
  return account;
}

std::shared_ptr<const AccountPermissions> AuthSnapshot::EnabledAccount(
    const std::string& org_id, const std::string& account_id) const {
  auto it = accounts_.find(account_id);
  if (it == accounts_.end() || it->second->org_id != org_id || it->second->disabled) {
    return nullptr;
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<const AccountPermissions>> AuthSnapshot::FindAccount(
    const std::string& org_id, const std::string& account_id) const {
  ReaderMutexLock l(&mu_);
  if (!loaded_) return absl::UnavailableError("introspection snapshot not loaded yet");
  auto it = accounts_.find(account_id);
  if (it == accounts_.end() || it->second->org_id != org_id) return nullptr;
  return it->second;
}

absl::StatusOr<std::optional<AuthSnapshot::ActiveKey>> AuthSnapshot::ActiveApiKey(
    const std::string& digest) const {
  absl::Time now = clock_.Now();
  ReaderMutexLock l(&mu_);
  if (!loaded_) return absl::UnavailableError("introspection snapshot not loaded yet");
  auto it = api_keys_.find(digest);
  if (it == api_keys_.end() || it->second->expires_at <= now) return std::nullopt;
  std::shared_ptr<const AccountPermissions> account =
      EnabledAccount(it->second->org_id, it->second->account_id);
  if (account == nullptr) return std::nullopt;
  return ActiveKey{.key = it->second, .account = std::move(account)};
}

void AuthSnapshot::Prune() {
  absl::Time horizon = clock_.Now();
  MutexLock l(&mu_);
  for (auto it = api_keys_.begin(); it != api_keys_.end();) {
    if (it->second->expires_at <= horizon) {
      key_digests_.erase(it->second->id);
      api_keys_.erase(it++);
    } else {
      ++it;
    }
  }
  for (RevokedMap* map : {&revoked_tokens_, &revoked_families_}) {
    for (auto it = map->begin(); it != map->end();) {
      if (absl::FromUnixSeconds(it->second.expires_at) <= horizon) {
        map->erase(it++);  // flat_hash_map::erase(iterator) leaves other iterators valid
      } else {
        ++it;
      }
    }
  }
}

AuthSnapshot::Sizes AuthSnapshot::sizes() const {
  ReaderMutexLock l(&mu_);
  return Sizes{.accounts = accounts_.size(),
               .revoked_tokens = revoked_tokens_.size(),
               .revoked_families = revoked_families_.size(),
               .api_keys = api_keys_.size()};
}

bool AuthSnapshot::loaded() const {
  ReaderMutexLock l(&mu_);
  return loaded_;
}

}  // namespace tessera
