// PgAccountStore: accounts, their login names and roles, password rotation and disabling, each
// disabling or rotation under the account's session lock.
#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/encoding.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

class PgAccountStore final : public AccountStore {
 public:
  PgAccountStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<Account> Create(const NewAccount& account, AuditActor actor,
                                 Committed* committed) override {
    return writer_.Value<Account>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<Account> {
          auto a = InsertAccountTx(tx, changes, account);
          if (!a.ok()) return a.status();
          AppendAudit(tx, actor,
                      {.action = "account.created",
                       .target_type = "account",
                       .target_id = a->id,
                       .details_json = Details({{"kind", KindName(account.kind)},
                                                {"username", account.username},
                                                {"roles", account.roles}})});
          return a;
        });
  }

  absl::StatusOr<Account> Get(absl::string_view org_id, absl::string_view account_id) override {
    return pool_.TransactValue<Account>(
        [&](Tx& tx) { return GetAccountTx(tx, org_id, account_id); });
  }

  absl::StatusOr<AccountPage> List(absl::string_view org_id, int limit,
                                   absl::string_view after_id) override {
    return pool_.TransactValue<AccountPage>([&](Tx& tx) -> absl::StatusOr<AccountPage> {
      AccountPage page;
      auto r = tx.exec_params(absl::StrCat("SELECT ", kAccountColumns,
                                           " FROM accounts a WHERE a.org_id = $1"
                                           " AND ($2 = '' OR a.id > nullif($2, '')::uuid)"
                                           " ORDER BY a.id LIMIT $3"),
                              std::string(org_id), std::string(after_id), limit + 1);
      for (int i = 0; i < static_cast<int>(r.size()) && i < limit; ++i) {
        Columns c(r, i);
        page.accounts.push_back(ReadAccount(c));
      }
      if (static_cast<int>(r.size()) > limit) page.next_after_id = page.accounts.back().id;
      return page;
    });
  }

  absl::StatusOr<Account> Disable(absl::string_view org_id, absl::string_view account_id,
                                  absl::Time now, AuditActor actor, Committed* committed) override {
    return writer_.Value<Account>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<Account> {
          auto r = tx.exec_params(
              "UPDATE accounts SET disabled = true, updated_at = tessera_ts($3)"
              " WHERE org_id = $1 AND id = $2",
              std::string(org_id), std::string(account_id), Us(now));
          if (r.affected_rows() == 0) return absl::NotFoundError("account not found");
          NotifyAccount(tx, changes, org_id, account_id);
          AppendAudit(
              tx, actor,
              {.action = "account.disabled", .target_type = "account", .target_id = account_id});
          return GetAccountTx(tx, org_id, account_id);
        });
  }

  absl::Status RotatePassword(absl::string_view org_id, absl::string_view account_id,
                              const std::string& password_hash, absl::Time now, AuditActor actor,
                              Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) -> absl::Status {
      auto kind =
          tx.exec_params("SELECT kind FROM accounts WHERE org_id = $1 AND id = $2 FOR UPDATE",
                         std::string(org_id), std::string(account_id));
      if (kind.empty()) return absl::NotFoundError("account_id: account not found");
      if (kind[0][0].as<std::string>() != "SERVICE") {
        return absl::FailedPreconditionError(
            "account_id: only service accounts have generated passwords to rotate");
      }
      tx.exec_params(
          "UPDATE accounts SET password_hash = $3, updated_at = tessera_ts($4)"
          " WHERE org_id = $1 AND id = $2",
          std::string(org_id), std::string(account_id), password_hash, Us(now));
      auto families = tx.exec_params(
          "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
          "   WHERE org_id = $1 AND account_id = $2 AND revoked_at IS NULL"
          "   RETURNING family_id, family_expires_at)"
          " SELECT family_id, tessera_us(max(family_expires_at)) FROM revoked GROUP BY family_id",
          std::string(org_id), std::string(account_id), Us(now));
      for (const auto& row : families) {
        Notify(tx, changes,
               Change{.kind = ChangeKind::kFamily,
                      .org_id = std::string(org_id),
                      .id = row[0].as<std::string>(),
                      .expires_at = FromUs(row[1].as<int64_t>())});
      }
      AppendAudit(tx, actor,
                  {.action = "account.password_rotated",
                   .target_type = "account",
                   .target_id = account_id,
                   .details_json = Details({{"families_revoked", families.size()}}),
                   .org_id = org_id});
      return absl::OkStatus();
    });
  }

  absl::Status AssignRole(absl::string_view org_id, absl::string_view account_id,
                          absl::string_view role, absl::Time now, AuditActor actor,
                          Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) -> absl::Status {
      auto role_id = FindRoleAndAccount(tx, org_id, account_id, role);
      if (!role_id.ok()) return role_id.status();
      auto r = tx.exec_params(
          "INSERT INTO account_roles (org_id, account_id, role_id, created_at)"
          " VALUES ($1, $2, $3, tessera_ts($4)) ON CONFLICT DO NOTHING",
          std::string(org_id), std::string(account_id), *role_id, Us(now));
      if (r.affected_rows() == 0) return absl::OkStatus();
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAudit(tx, actor,
                  {.action = "role.assigned",
                   .target_type = "account",
                   .target_id = account_id,
                   .details_json = Details({{"role", role}})});
      return absl::OkStatus();
    });
  }

  absl::Status UnassignRole(absl::string_view org_id, absl::string_view account_id,
                            absl::string_view role, absl::Time, AuditActor actor,
                            Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) -> absl::Status {
      auto role_id = FindRoleAndAccount(tx, org_id, account_id, role);
      if (!role_id.ok()) return role_id.status();
      auto r = tx.exec_params(
          "DELETE FROM account_roles WHERE org_id = $1 AND account_id = $2 AND role_id = $3",
          std::string(org_id), std::string(account_id), *role_id);
      if (r.affected_rows() == 0) return absl::OkStatus();
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAudit(tx, actor,
                  {.action = "role.unassigned",
                   .target_type = "account",
                   .target_id = account_id,
                   .details_json = Details({{"role", role}})});
      return absl::OkStatus();
    });
  }

  absl::StatusOr<LoginCandidate> FindForLogin(absl::string_view org_slug,
                                              absl::string_view username_or_email) override {
    return pool_.TransactValue<LoginCandidate>([&](Tx& tx) -> absl::StatusOr<LoginCandidate> {
      LoginCandidate out;
      auto r = tx.exec_params(
          absl::StrCat("SELECT ", kOrgColumns, ", ", kAccountColumns, ", a.password_hash, ",
                       kAccountScopes,
                       " FROM organizations o JOIN account_login_names n ON n.org_id = o.id"
                       " JOIN accounts a ON a.org_id = n.org_id AND a.id = n.account_id"
                       " WHERE o.slug = $1 AND n.name_key = $2"),
          std::string(org_slug), NameKey(username_or_email));
      if (r.empty()) return absl::NotFoundError("no such account");
      Columns c(r);
      out.org = ReadOrg(c);
      out.account = ReadAccount(c);
      out.password_hash = c.Text();
      out.scopes = c.Scopes();
      return out;
    });
  }

 private:
  // The role's ID; NOT_FOUND when the account or the role is not in the org.
  static absl::StatusOr<std::string> FindRoleAndAccount(Tx& tx, absl::string_view org_id,
                                                        absl::string_view account_id,
                                                        absl::string_view role) {
    auto acc = tx.exec_params("SELECT 1 FROM accounts WHERE org_id = $1 AND id = $2",
                              std::string(org_id), std::string(account_id));
    if (acc.empty()) return absl::NotFoundError("account not found");
    auto r = tx.exec_params("SELECT id FROM roles WHERE org_id = $1 AND name = $2",
                            std::string(org_id), std::string(role));
    if (r.empty()) return absl::NotFoundError(absl::StrCat("role: no role \"", role, "\""));
    return r[0][0].as<std::string>();
  }

  PgPool& pool_;
  Writer writer_;
};

}  // namespace

std::unique_ptr<AccountStore> MakePgAccountStore(PgPool& pool) {
  return std::make_unique<PgAccountStore>(pool);
}

}  // namespace tessera
