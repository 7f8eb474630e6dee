// The reads of account and organization rows that several PostgreSQL stores share.
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/pg_internal.h"

namespace tessera::pg_internal {

Account ReadAccount(const pqxx::row& row, int first) {
  Account a;
  a.id = row[first + 0].as<std::string>();
  a.org_id = row[first + 1].as<std::string>();
  a.kind = ParseKind(row[first + 2].as<std::string>());
  a.username = row[first + 3].as<std::string>();
  a.email = row[first + 4].as<std::string>();
  a.disabled = row[first + 5].as<bool>();
  a.created_at = FromUs(row[first + 6].as<int64_t>());
  a.roles = absl::StrSplit(row[first + 7].as<std::string>(), ' ', absl::SkipEmpty());
  return a;
}

absl::StatusOr<Account> GetAccountTx(Tx& tx, absl::string_view org_id,
                                     absl::string_view account_id) {
  auto r = tx.exec_params(absl::StrCat("SELECT ", kAccountColumns,
                                       " FROM accounts a WHERE a.org_id = $1 AND a.id = $2"),
                          std::string(org_id), std::string(account_id));
  if (r.empty()) return absl::NotFoundError("account not found");
  return ReadAccount(r[0]);
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

Organization ReadOrg(const pqxx::row& row, int first) {
  Organization o;
  o.id = row[first + 0].as<std::string>();
  o.slug = row[first + 1].as<std::string>();
  o.name = row[first + 2].as<std::string>();
  o.platform = row[first + 3].as<bool>();
  o.created_at = FromUs(row[first + 4].as<int64_t>());
  return o;
}

}  // namespace tessera::pg_internal
