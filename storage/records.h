// The rows tessera stores, as plain structs shared by the store interfaces and their callers.
#ifndef TESSERA_STORAGE_RECORDS_H_
#define TESSERA_STORAGE_RECORDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/scopes.h"

namespace tessera {

struct Organization {
  std::string id;
  std::string slug;
  std::string name;
  bool platform = false;
  absl::Time created_at;
};

enum class AccountKind { kUser, kService };

struct Account {
  std::string id;
  std::string org_id;
  AccountKind kind = AccountKind::kUser;
  std::string username;
  std::string email;  // empty when none
  bool disabled = false;
  std::vector<std::string> roles;  // role names, sorted
  absl::Time created_at;
};

struct Role {
  std::string id;
  std::string org_id;
  std::string name;
  ScopeSet scopes;
};

// What an account may do right now: the union of its roles' scopes, and whether it is enabled.
struct AccountPermissions {
  std::string org_id;
  std::string account_id;
  std::string username;
  bool disabled = true;
  ScopeSet scopes;
  bool org_platform = false;  // the account's organization is a platform organization
  // "Log out everywhere": access tokens issued at or before this are revoked.
  std::optional<absl::Time> tokens_valid_after;
  // The rest of the account and its organization, so that a token issued for an API key can
  // describe its principal without a query.
  Account account;
  Organization org;
};

// An account found for a password login, with what the login needs to decide and answer.
struct LoginCandidate {
  Organization org;
  Account account;
  std::string password_hash;
  ScopeSet scopes;
};

// Who wrote, when and from where: what the logic hands a store's write. The store, which alone
// knows what the write did (a new row's ID, how many sessions it ended), builds the audit row
// from it inside the write's transaction: one owner per row.
struct AuditActor {
  std::string org_id;  // the actor's organization; the row's unless the write says otherwise
  absl::Time at;
  std::string actor_id;
  std::string peer;
  std::string request_id;
};

// One audit row, as stored and listed. Built whole by the logic only for an event that writes
// nothing else (a failed login, a lockout: AuditStore::Append); a write's row is its store's.
struct AuditEntry {
  std::string org_id;  // empty: no organization (stored as NULL)
  absl::Time at;
  std::string actor_id;
  std::string action;
  std::string target_type;
  std::string target_id;
  std::string peer;
  std::string request_id;
  std::string details_json = "{}";
};

struct AuditEvent {
  int64_t id = 0;
  AuditEntry entry;
};

struct SigningKeyRecord {
  std::string kid;
  std::string alg;
  std::string public_pem;
  std::string private_key_sealed;
  absl::Time created_at;
  absl::Time activates_at;
  std::optional<absl::Time> retired_at;
  std::optional<absl::Time> verify_until;
};

struct RefreshTokenRow {
  std::string family_id;  // chosen by the caller, so the first access token can carry it
  std::string org_id;
  std::string account_id;
  std::string digest;
  ScopeSet scopes;
  std::string audience;
  absl::Time created_at;
  absl::Time expires_at;
  absl::Time family_expires_at;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_RECORDS_H_
