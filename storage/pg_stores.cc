// The PostgreSQL stores for organizations, accounts, roles, signing keys and audit, and
// MakePgStores, which puts every store together. pqxx stays inside storage/*.cc and
// storage/pg_internal.h, which nothing outside storage/ includes.
#include "storage/pg_stores.h"

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

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

class PgOrganizationStore final : public OrganizationStore {
 public:
  PgOrganizationStore(PgPool& pool, ChangeSink* local) : pool_(pool), writer_(pool, local) {}

  absl::StatusOr<CreatedOrganization> Create(const NewOrganizationWithAdmin& req,
                                             AuditEntry audit) override {
    return writer_.Value<CreatedOrganization>(
        [&](Tx& tx, Changes& changes) { return CreateTx(tx, changes, req, audit); });
  }

  absl::StatusOr<CreatedOrganization> Bootstrap(const NewOrganizationWithAdmin& req,
                                                AuditEntry audit) override {
    return writer_.Value<CreatedOrganization>(
        [&](Tx& tx, Changes& changes) -> absl::StatusOr<CreatedOrganization> {
          CreatedOrganization out;
          // Serializes concurrent bootstraps (two Job pods, a Job and a developer).
          AdvisoryXactLock(tx, kBootstrapLock);
          auto existing = tx.exec_params(
              absl::StrCat("SELECT ", kOrgColumns, " FROM organizations o WHERE o.slug = $1"),
              req.slug);
          if (!existing.empty()) {
            out.org = ReadOrg(existing[0]);
            out.created = false;
            return out;
          }
          return CreateTx(tx, changes, req, audit);
        });
  }

  absl::StatusOr<Organization> Get(absl::string_view org_id) override {
    return pool_.TransactValue<Organization>([&](Tx& tx) -> absl::StatusOr<Organization> {
      Organization out;
      auto r = tx.exec_params(
          absl::StrCat("SELECT ", kOrgColumns, " FROM organizations o WHERE o.id = $1"),
          std::string(org_id));
      if (r.empty()) return absl::NotFoundError("organization not found");
      out = ReadOrg(r[0]);
      return out;
    });
  }

 private:
  static absl::StatusOr<CreatedOrganization> CreateTx(Tx& tx, Changes& changes,
                                                      const NewOrganizationWithAdmin& req,
                                                      AuditEntry audit) {
    CreatedOrganization out;
    auto r = tx.exec_params(
        "INSERT INTO organizations AS o (slug, name, platform, created_at)"
        " VALUES ($1, $2, $3, tessera_ts($4)) RETURNING id, slug, name, platform,"
        " tessera_us(created_at)",
        req.slug, req.name, req.platform, Us(req.now));
    out.org = ReadOrg(r[0]);
    if (audit.org_id.empty()) audit.org_id = out.org.id;
    audit.target_type = "organization";
    audit.target_id = out.org.id;
    audit.action = "organization.created";
    AppendAudit(tx, audit);
    if (!req.admin_username.empty()) {
      tx.exec_params(
          "INSERT INTO roles (org_id, name, scopes, created_at)"
          " VALUES ($1, 'admin', ARRAY['admin'], tessera_ts($2))",
          out.org.id, Us(req.now));
      NewAccount admin{.org_id = out.org.id,
                       .kind = AccountKind::kService,
                       .username = req.admin_username,
                       .email = "",
                       .password_hash = req.admin_password_hash,
                       .roles = {"admin"},
                       .now = req.now};
      auto account = InsertAccountTx(tx, changes, admin);
      if (!account.ok()) return account.status();
      out.admin = *std::move(account);
      AuditEntry a = audit;
      a.org_id = out.org.id;
      a.action = "account.created";
      a.target_type = "account";
      a.target_id = out.admin->id;
      a.details_json = R"({"kind":"SERVICE","roles":["admin"]})";
      AppendAudit(tx, a);
    }
    return out;
  }

  PgPool& pool_;
  Writer writer_;
};

class PgAccountStore final : public AccountStore {
 public:
  PgAccountStore(PgPool& pool, ChangeSink* local) : pool_(pool), writer_(pool, local) {}

  absl::StatusOr<Account> Create(const NewAccount& account, AuditEntry audit) override {
    return writer_.Value<Account>([&](Tx& tx, Changes& changes) -> absl::StatusOr<Account> {
      auto a = InsertAccountTx(tx, changes, account);
      if (!a.ok()) return a.status();
      AppendAuditOn(tx, audit, "account", a->id);
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
        page.accounts.push_back(ReadAccount(r[i]));
      }
      if (static_cast<int>(r.size()) > limit) page.next_after_id = page.accounts.back().id;
      return page;
    });
  }

  absl::StatusOr<Account> Disable(absl::string_view org_id, absl::string_view account_id,
                                  absl::Time now, AuditEntry audit) override {
    return writer_.Value<Account>([&](Tx& tx, Changes& changes) -> absl::StatusOr<Account> {
      auto r = tx.exec_params(
          "UPDATE accounts SET disabled = true, updated_at = tessera_ts($3)"
          " WHERE org_id = $1 AND id = $2",
          std::string(org_id), std::string(account_id), Us(now));
      if (r.affected_rows() == 0) return absl::NotFoundError("account not found");
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAuditOn(tx, audit, "account", std::string(account_id));
      return GetAccountTx(tx, org_id, account_id);
    });
  }

  absl::Status RotatePassword(absl::string_view org_id, absl::string_view account_id,
                              const std::string& password_hash, absl::Time now,
                              AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) -> absl::Status {
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
      audit.org_id = std::string(org_id);
      audit.action = "account.password_rotated";
      audit.details_json = absl::StrCat(R"({"families_revoked":)", families.size(), "}");
      AppendAuditOn(tx, audit, "account", std::string(account_id));
      return absl::OkStatus();
    });
  }

  absl::Status AssignRole(absl::string_view org_id, absl::string_view account_id,
                          absl::string_view role, absl::Time now, AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) -> absl::Status {
      auto role_id = FindRoleAndAccount(tx, org_id, account_id, role);
      if (!role_id.ok()) return role_id.status();
      auto r = tx.exec_params(
          "INSERT INTO account_roles (org_id, account_id, role_id, created_at)"
          " VALUES ($1, $2, $3, tessera_ts($4)) ON CONFLICT DO NOTHING",
          std::string(org_id), std::string(account_id), *role_id, Us(now));
      if (r.affected_rows() == 0) return absl::OkStatus();
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAuditOn(tx, audit, "account", std::string(account_id));
      return absl::OkStatus();
    });
  }

  absl::Status UnassignRole(absl::string_view org_id, absl::string_view account_id,
                            absl::string_view role, absl::Time, AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) -> absl::Status {
      auto role_id = FindRoleAndAccount(tx, org_id, account_id, role);
      if (!role_id.ok()) return role_id.status();
      auto r = tx.exec_params(
          "DELETE FROM account_roles WHERE org_id = $1 AND account_id = $2 AND role_id = $3",
          std::string(org_id), std::string(account_id), *role_id);
      if (r.affected_rows() == 0) return absl::OkStatus();
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAuditOn(tx, audit, "account", std::string(account_id));
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
      out.org = ReadOrg(r[0]);
      out.account = ReadAccount(r[0], 5);
      out.password_hash = r[0][13].as<std::string>();
      out.scopes = SplitScopes(r[0][14].as<std::string>());
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

class PgRoleStore final : public RoleStore {
 public:
  explicit PgRoleStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<Role> Create(absl::string_view org_id, absl::string_view name,
                              const ScopeSet& scopes, absl::Time now, AuditEntry audit) override {
    return pool_.TransactValue<Role>([&](Tx& tx) -> absl::StatusOr<Role> {
      Role out;
      auto r = tx.exec_params(
          "INSERT INTO roles (org_id, name, scopes, created_at)"
          " VALUES ($1, $2, string_to_array($3, ' '), tessera_ts($4)) RETURNING id",
          std::string(org_id), std::string(name), JoinScopes(scopes), Us(now));
      out = Role{.id = r[0][0].as<std::string>(),
                 .org_id = std::string(org_id),
                 .name = std::string(name),
                 .scopes = scopes};
      AppendAuditOn(tx, audit, "role", out.id);
      return out;
    });
  }

  absl::StatusOr<std::vector<Role>> FindByNames(absl::string_view org_id,
                                                const std::vector<std::string>& names) override {
    return pool_.TransactValue<std::vector<Role>>([&](Tx& tx) -> absl::StatusOr<std::vector<Role>> {
      std::vector<Role> out;
      auto r = tx.exec_params(
          "SELECT id, name, array_to_string(scopes, ' ') FROM roles"
          " WHERE org_id = $1 AND name = ANY (string_to_array($2, ' ')) ORDER BY name",
          std::string(org_id), absl::StrJoin(names, " "));
      for (const auto& row : r) {
        out.push_back(Role{.id = row[0].as<std::string>(),
                           .org_id = std::string(org_id),
                           .name = row[1].as<std::string>(),
                           .scopes = SplitScopes(row[2].as<std::string>())});
      }
      return out;
    });
  }

 private:
  PgPool& pool_;
};

class PgSigningKeyStore final : public SigningKeyStore {
 public:
  PgSigningKeyStore(PgPool& pool, ChangeSink* local) : pool_(pool), writer_(pool, local) {}

  absl::StatusOr<std::vector<SigningKeyRecord>> List() override {
    return pool_.TransactValue<std::vector<SigningKeyRecord>>(
        [&](Tx& tx) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          std::vector<SigningKeyRecord> out;
          out = ListTx(tx);
          return out;
        });
  }

  absl::StatusOr<std::vector<SigningKeyRecord>> EnsureActiveKey(const SigningKeyRecord& key,
                                                                AuditEntry audit) override {
    return writer_.Value<std::vector<SigningKeyRecord>>(
        [&](Tx& tx, Changes& changes) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          std::vector<SigningKeyRecord> out;
          AdvisoryXactLock(tx, kSigningKeyLock);
          auto active = tx.exec_params(
              "SELECT 1 FROM signing_keys WHERE activates_at <= tessera_ts($1)"
              " AND (retired_at IS NULL OR retired_at > tessera_ts($1))",
              Us(key.created_at));
          if (active.empty()) {
            InsertTx(tx, key);
            audit.action = "signing_key.created";
            AppendAuditOn(tx, audit, "signing_key", key.kid);
            Notify(tx, changes, Change{.kind = ChangeKind::kSigningKeys});
          }
          out = ListTx(tx);
          return out;
        });
  }

  absl::StatusOr<std::vector<SigningKeyRecord>> Rotate(const SigningKeyRecord& key,
                                                       absl::Time previous_verify_until,
                                                       AuditEntry audit) override {
    return writer_.Value<std::vector<SigningKeyRecord>>(
        [&](Tx& tx, Changes& changes) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          AdvisoryXactLock(tx, kSigningKeyLock);
          tx.exec_params(
              "UPDATE signing_keys SET retired_at = tessera_ts($1), verify_until = tessera_ts($2)"
              " WHERE retired_at IS NULL",
              Us(key.activates_at), Us(previous_verify_until));
          InsertTx(tx, key);
          audit.action = "signing_key.rotated";
          audit.details_json =
              absl::StrCat(R"({"activates_at":)", absl::ToUnixSeconds(key.activates_at), "}");
          AppendAuditOn(tx, audit, "signing_key", key.kid);
          Notify(tx, changes, Change{.kind = ChangeKind::kSigningKeys});
          std::vector<SigningKeyRecord> out = ListTx(tx);
          return out;
        });
  }

 private:
  static void InsertTx(Tx& tx, const SigningKeyRecord& key) {
    tx.exec_params(
        "INSERT INTO signing_keys (kid, alg, public_pem, private_key_sealed, created_at,"
        " activates_at) VALUES ($1, $2, $3, decode($4, 'hex'), tessera_ts($5),"
        " tessera_ts($6))",
        key.kid, key.alg, key.public_pem, HexEncode(key.private_key_sealed), Us(key.created_at),
        Us(key.activates_at));
  }

  static std::vector<SigningKeyRecord> ListTx(Tx& tx) {
    std::vector<SigningKeyRecord> out;
    auto r = tx.exec(
        "SELECT kid, alg, public_pem, encode(private_key_sealed, 'hex'), tessera_us(created_at),"
        " tessera_us(activates_at), tessera_us(retired_at), tessera_us(verify_until)"
        " FROM signing_keys ORDER BY activates_at DESC");
    for (const auto& row : r) {
      SigningKeyRecord k;
      k.kid = row[0].as<std::string>();
      k.alg = row[1].as<std::string>();
      k.public_pem = row[2].as<std::string>();
      // encode(..., 'hex') always yields lowercase hex; were it ever not to, the empty value
      // would fail to unseal with a clear error rather than be used.
      k.private_key_sealed = HexDecode(row[3].as<std::string>()).value_or("");
      k.created_at = FromUs(row[4].as<int64_t>());
      k.activates_at = FromUs(row[5].as<int64_t>());
      k.retired_at = OptionalTime(row[6]);
      k.verify_until = OptionalTime(row[7]);
      out.push_back(std::move(k));
    }
    return out;
  }

  PgPool& pool_;
  Writer writer_;
};

class PgAuditStore final : public AuditStore {
 public:
  explicit PgAuditStore(PgPool& pool) : pool_(pool) {}

  absl::Status Append(AuditEntry entry) override {
    return pool_.Transact([&](Tx& tx) {
      AppendAudit(tx, entry);
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<AuditEvent>> List(absl::string_view org_id, int limit,
                                               int64_t before_id, absl::string_view action,
                                               absl::string_view actor_id) override {
    return pool_.TransactValue<std::vector<AuditEvent>>(
        [&](Tx& tx) -> absl::StatusOr<std::vector<AuditEvent>> {
          std::vector<AuditEvent> out;
          auto r = tx.exec_params(
              "SELECT id, coalesce(org_id::text, ''), tessera_us(occurred_at), actor_id, action,"
              " target_type, target_id, peer, request_id, details::text FROM audit_events"
              " WHERE org_id = $1 AND ($2 = 0 OR id < $2) AND ($4 = '' OR action = $4)"
              " AND ($5 = '' OR actor_id = $5) ORDER BY id DESC LIMIT $3",
              std::string(org_id), before_id, limit, std::string(action), std::string(actor_id));
          for (const auto& row : r) {
            AuditEvent e;
            e.id = row[0].as<int64_t>();
            e.entry.org_id = row[1].as<std::string>();
            e.entry.at = FromUs(row[2].as<int64_t>());
            e.entry.actor_id = row[3].as<std::string>();
            e.entry.action = row[4].as<std::string>();
            e.entry.target_type = row[5].as<std::string>();
            e.entry.target_id = row[6].as<std::string>();
            e.entry.peer = row[7].as<std::string>();
            e.entry.request_id = row[8].as<std::string>();
            e.entry.details_json = row[9].as<std::string>();
            out.push_back(std::move(e));
          }
          return out;
        });
  }

 private:
  PgPool& pool_;
};

}  // namespace

Stores MakePgStores(PgPool& pool, ChangeSink* local) {
  Stores s;
  s.orgs = std::make_unique<PgOrganizationStore>(pool, local);
  s.accounts = std::make_unique<PgAccountStore>(pool, local);
  s.roles = std::make_unique<PgRoleStore>(pool);
  s.signing_keys = std::make_unique<PgSigningKeyStore>(pool, local);
  s.refresh_tokens = MakePgRefreshTokenStore(pool, local);
  s.audit = std::make_unique<PgAuditStore>(pool);
  s.revocations = MakePgRevocationStore(pool, local);
  s.api_keys = MakePgApiKeyStore(pool, local);
  s.throttle = MakePgThrottleStore(pool, local);
  return s;
}

}  // namespace tessera
