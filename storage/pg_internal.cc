// What the PostgreSQL stores share: advisory locks, change notifications, audit rows, the
// account sessions lock, login names, and the reads of account and organization rows.
#include "storage/pg_internal.h"

#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tessera::pg_internal {

const pqxx::field Columns::Next() { return result_[row_][column_++]; }
std::string Columns::Text() { return Next().as<std::string>(); }
bool Columns::Bool() { return Next().as<bool>(); }
int64_t Columns::Int() { return Next().as<int64_t>(); }
absl::Time Columns::Time() { return FromUs(Int()); }

std::optional<absl::Time> Columns::MaybeTime() {
  auto us = MaybeInt();
  if (!us) return std::nullopt;
  return FromUs(*us);
}

std::optional<int64_t> Columns::MaybeInt() {
  const pqxx::field f = Next();
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

ScopeSet Columns::Scopes() { return SplitScopes(Text()); }

std::optional<ScopeSet> Columns::MaybeScopes() {
  const pqxx::field f = Next();
  if (f.is_null()) return std::nullopt;
  return SplitScopes(f.as<std::string>());
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '\0') break;  // libpq's text parameters end there, as a lone value's did
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

void AdvisoryXactLock(Tx& tx, int64_t lock) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", lock);
}

void Notify(Tx& tx, Changes& changes, Change c) {
  c.sent_at = absl::Now();  // wall clock on purpose: it measures real propagation lag
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(kChangeChannel), EncodeChange(c));
  changes.push_back(std::move(c));
}

void NotifyAccount(Tx& tx, Changes& changes, absl::string_view org_id,
                   absl::string_view account_id) {
  Notify(tx, changes,
         Change{.kind = ChangeKind::kAccount,
                .org_id = std::string(org_id),
                .id = std::string(account_id)});
}

void AppendAudit(Tx& tx, const AuditEntry& e) {
  tx.exec_params(
      "INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type, target_id,"
      " peer, request_id, details)"
      " VALUES (nullif($1, '')::uuid, tessera_ts($2), $3, $4, $5, $6, $7, $8, $9::jsonb)",
      e.org_id, Us(e.at), e.actor_id, e.action, e.target_type, e.target_id, e.peer, e.request_id,
      e.details_json);
}

void AppendAudit(Tx& tx, const AuditActor& actor, const AuditedWrite& write) {
  AppendAudit(tx,
              AuditEntry{.org_id = write.org_id.empty() ? actor.org_id : std::string(write.org_id),
                         .at = actor.at,
                         .actor_id = actor.actor_id,
                         .action = std::string(write.action),
                         .target_type = std::string(write.target_type),
                         .target_id = std::string(write.target_id),
                         .peer = actor.peer,
                         .request_id = actor.request_id,
                         .details_json = write.details_json});
}

std::string Details(const nlohmann::json& details) {
  return details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<AccountSessions> LockAccountSessions(Tx& tx, absl::string_view org_id,
                                                   absl::string_view account_id) {
  auto r = tx.exec_params(
      "SELECT disabled, tessera_us(tokens_valid_after) FROM accounts"
      " WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE",
      std::string(org_id), std::string(account_id));
  if (r.empty()) return std::nullopt;
  Columns c(r);
  return AccountSessions{.disabled = c.Bool(), .tokens_valid_after = c.MaybeTime()};
}

absl::Status AddLoginNamesTx(Tx& tx, const std::string& org_id, const std::string& account_id,
                             absl::string_view username, absl::string_view email,
                             std::string* holder) {
  for (auto [field, name] : {std::pair{"username", username}, std::pair{"email", email}}) {
    if (name.empty()) continue;
    auto claimed = tx.exec_params(
        "INSERT INTO account_login_names (org_id, name_key, account_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (org_id, name_key) DO UPDATE SET account_id = account_login_names.account_id"
        " RETURNING account_id",
        org_id, NameKey(name), account_id);
    std::string owner = claimed[0][0].as<std::string>();
    if (owner != account_id) {
      if (holder != nullptr) *holder = owner;
      return absl::AlreadyExistsError(
          absl::StrCat(field, ": already the username or email of another account"));
    }
  }
  return absl::OkStatus();
}

Account ReadAccount(Columns& c) {
  Account a;
  a.id = c.Text();
  a.org_id = c.Text();
  a.kind = ParseKind(c.Text());
  a.username = c.Text();
  a.email = c.Text();
  a.disabled = c.Bool();
  a.created_at = c.Time();
  a.roles = absl::StrSplit(c.Text(), ' ', absl::SkipEmpty());
  return a;
}

absl::StatusOr<Account> GetAccountTx(Tx& tx, absl::string_view org_id,
                                     absl::string_view account_id) {
  auto r = tx.exec_params(absl::StrCat("SELECT ", kAccountColumns,
                                       " FROM accounts a WHERE a.org_id = $1 AND a.id = $2"),
                          std::string(org_id), std::string(account_id));
  if (r.empty()) return absl::NotFoundError("account not found");
  Columns c(r);
  return ReadAccount(c);
}

absl::StatusOr<Account> InsertAccountTx(Tx& tx, Changes& changes, const NewAccount& a) {
  auto r = tx.exec_params(
      "INSERT INTO accounts (org_id, kind, username, email, password_hash, created_at, updated_at)"
      " VALUES ($1, $2, $3, nullif($4, ''), $5, tessera_ts($6), tessera_ts($6)) RETURNING id",
      a.org_id, std::string(KindName(a.kind)), a.username, a.email, a.password_hash, Us(a.now));
  std::string id = r[0][0].as<std::string>();
  if (auto s = AddLoginNamesTx(tx, a.org_id, id, a.username, a.email); !s.ok()) return s;
  for (const auto& role : a.roles) {
    auto ins = tx.exec_params(
        "INSERT INTO account_roles (org_id, account_id, role_id, created_at)"
        " SELECT $1, $2, id, tessera_ts($4) FROM roles WHERE org_id = $1 AND name = $3"
        " ON CONFLICT DO NOTHING",
        a.org_id, id, role, Us(a.now));
    if (ins.affected_rows() == 0) {
      // Either unknown or listed twice; only the former is an error.
      auto exists =
          tx.exec_params("SELECT 1 FROM roles WHERE org_id = $1 AND name = $2", a.org_id, role);
      if (exists.empty()) return absl::NotFoundError(absl::StrCat("roles: no role \"", role, "\""));
    }
  }
  Notify(tx, changes, Change{.kind = ChangeKind::kAccount, .org_id = a.org_id, .id = id});
  return GetAccountTx(tx, a.org_id, id);
}

Organization ReadOrg(Columns& c) {
  Organization o;
  o.id = c.Text();
  o.slug = c.Text();
  o.name = c.Text();
  o.platform = c.Bool();
  o.created_at = c.Time();
  return o;
}

}  // namespace tessera::pg_internal
