// The PostgreSQL stores for organizations, accounts, roles, signing keys, refresh tokens,
// audit, revocations and the snapshot's reads. pqxx stays inside storage/*.cc and
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

// Columns of an account row, as read by GetAccountTx and List.
constexpr char kAccountColumns[] =
    "a.id, a.org_id, a.kind, a.username, coalesce(a.email, ''), a.disabled,"
    " tessera_us(a.created_at),"
    " coalesce((SELECT string_agg(r.name, ' ' ORDER BY r.name) FROM account_roles ar"
    "   JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id"
    "   WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '')";

// The union of the account's role scopes, space separated.
constexpr char kAccountScopes[] =
    "coalesce((SELECT string_agg(DISTINCT s, ' ') FROM account_roles ar"
    "   JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id, unnest(r.scopes) s"
    "   WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '')";

Account ReadAccount(const pqxx::row& row, int first = 0) {
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

// Creates an account and assigns it the named roles. NOT_FOUND names the first missing role.
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

Organization ReadOrg(const pqxx::row& row, int first = 0) {
  Organization o;
  o.id = row[first + 0].as<std::string>();
  o.slug = row[first + 1].as<std::string>();
  o.name = row[first + 2].as<std::string>();
  o.platform = row[first + 3].as<bool>();
  o.created_at = FromUs(row[first + 4].as<int64_t>());
  return o;
}

constexpr char kOrgColumns[] = "o.id, o.slug, o.name, o.platform, tessera_us(o.created_at)";

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
          tx.exec("SELECT pg_advisory_xact_lock(7658504845423474)");
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
          tx.exec("SELECT pg_advisory_xact_lock(7658504845423475)");
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
          tx.exec("SELECT pg_advisory_xact_lock(7658504845423475)");
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

absl::StatusOr<RefreshResult> RotateTx(Tx& tx, Changes& changes, const RefreshRotation& rot,
                                       AuditEntry& audit);

class PgRefreshTokenStore final : public RefreshTokenStore {
 public:
  PgRefreshTokenStore(PgPool& pool, ChangeSink* local) : pool_(pool), writer_(pool, local) {}

  absl::StatusOr<RefreshResult> Rotate(const RefreshRotation& rotation, AuditEntry audit) override {
    return writer_.Value<RefreshResult>(
        [&](Tx& tx, Changes& changes) { return RotateTx(tx, changes, rotation, audit); });
  }

  absl::StatusOr<NewFamily> CreateFamily(const RefreshTokenRow& t,
                                         absl::string_view checked_password_hash,
                                         AuditEntry audit) override {
    return pool_.TransactValue<NewFamily>([&](Tx& tx) -> absl::StatusOr<NewFamily> {
      NewFamily out;
      // A login that lost the race with an ending gets no session (see LockAccountSessions).
      auto sessions = LockAccountSessions(tx, t.org_id, t.account_id);
      if (!sessions || sessions->disabled) {
        out.refused = NewFamilyRefusal::kAccountEnded;
        return out;
      }
      // A password rotation holds the same lock, so the hash read now is the current one.
      auto hash = tx.exec_params("SELECT password_hash FROM accounts WHERE org_id = $1 AND id = $2",
                                 t.org_id, t.account_id);
      if (hash.empty() || hash[0][0].as<std::string>() != checked_password_hash) {
        out.refused = NewFamilyRefusal::kPasswordChanged;
        return out;
      }
      // Its access token (iat in whole seconds) would be dead on arrival.
      if (!SurvivesCutoff(*sessions, absl::FromUnixSeconds(absl::ToUnixSeconds(t.created_at)))) {
        out.refused = NewFamilyRefusal::kRevokedThisSecond;
        return out;
      }
      auto r = tx.exec_params(
          "INSERT INTO refresh_tokens (org_id, family_id, account_id, digest, scopes, audience,"
          " created_at, expires_at, family_expires_at)"
          " VALUES ($1, $9::uuid, $2, $3, string_to_array($4, ' '), $5,"
          " tessera_ts($6), tessera_ts($7), tessera_ts($8)) RETURNING family_id",
          t.org_id, t.account_id, t.digest, JoinScopes(t.scopes), t.audience, Us(t.created_at),
          Us(t.expires_at), Us(t.family_expires_at), t.family_id);
      out.family_id = r[0][0].as<std::string>();
      AppendAuditOn(tx, audit, "token_family", out.family_id);
      return out;
    });
  }

 private:
  PgPool& pool_;
  Writer writer_;
};

// The token, the account's current permissions, the account and its organization, read inside
// a refresh transaction.
constexpr char kRefreshSelect[] =
    "SELECT t.org_id, t.id, t.family_id, t.account_id, array_to_string(t.scopes, ' '),"
    " t.audience, tessera_us(t.expires_at), tessera_us(t.family_expires_at),"
    " tessera_us(t.used_at), t.revoked_at IS NOT NULL, tessera_us(t.created_at), ";

absl::StatusOr<RefreshResult> RotateTx(Tx& tx, Changes& changes, const RefreshRotation& rot,
                                       AuditEntry& audit) {
  RefreshResult out;
  // Whose token it is, read without a lock so that the account's lock comes first (see
  // LockAccountSessions).
  auto owner = tx.exec_params("SELECT org_id, account_id FROM refresh_tokens WHERE digest = $1",
                              rot.presented_digest);
  if (owner.empty()) return out;  // unknown
  auto sessions =
      LockAccountSessions(tx, owner[0][0].as<std::string>(), owner[0][1].as<std::string>());
  if (!sessions) return out;
  auto r = tx.exec_params(
      absl::StrCat(kRefreshSelect, kAccountScopes, ", ", kAccountColumns, ", ", kOrgColumns,
                   " FROM refresh_tokens t JOIN accounts a"
                   " ON a.org_id = t.org_id AND a.id = t.account_id"
                   " JOIN organizations o ON o.id = t.org_id"
                   " WHERE t.digest = $1 FOR UPDATE OF t"),
      rot.presented_digest);
  if (r.empty()) return out;
  const auto& row = r[0];
  out.account = ReadAccount(row, 12);
  out.org = ReadOrg(row, 12 + 8);
  out.org_id = row[0].as<std::string>();
  std::string token_id = row[1].as<std::string>();
  out.family_id = row[2].as<std::string>();
  out.account_id = row[3].as<std::string>();
  ScopeSet family_scopes = SplitScopes(row[4].as<std::string>());
  out.audience = row[5].as<std::string>();
  absl::Time expires_at = FromUs(row[6].as<int64_t>());
  absl::Time family_expires_at = FromUs(row[7].as<int64_t>());
  std::optional<absl::Time> used_at = OptionalTime(row[8]);
  bool revoked = row[9].as<bool>();
  absl::Time created_at = FromUs(row[10].as<int64_t>());
  out.scopes = family_scopes.IntersectHeld(SplitScopes(row[11].as<std::string>()));
  audit.org_id = out.org_id;
  audit.actor_id = out.account_id;
  audit.target_type = "token_family";
  audit.target_id = out.family_id;

  if (revoked || sessions->disabled || !SurvivesCutoff(*sessions, created_at) ||
      rot.now >= expires_at || rot.now >= family_expires_at) {
    out.outcome = RefreshOutcome::kInvalid;
    return out;
  }
  if (!used_at) {
    auto child = tx.exec_params(
        "INSERT INTO refresh_tokens (org_id, family_id, parent_id, account_id, digest, scopes,"
        " audience, created_at, expires_at, family_expires_at)"
        " VALUES ($1, $2, $3, $4, $5, string_to_array($6, ' '), $7, tessera_ts($8::bigint),"
        " tessera_ts(least($9::bigint, $10::bigint)), tessera_ts($10::bigint)) RETURNING id",
        out.org_id, out.family_id, token_id, out.account_id, rot.child_digest,
        JoinScopes(family_scopes), out.audience, Us(rot.now), Us(rot.now + rot.child_ttl),
        Us(family_expires_at));
    tx.exec_params(
        "UPDATE refresh_tokens SET used_at = tessera_ts($3)"
        " WHERE org_id = $1 AND id = $2",
        out.org_id, token_id, Us(rot.now));
    out.child_id = child[0][0].as<std::string>();
    out.child_created_at = rot.now;
    out.outcome = RefreshOutcome::kRotated;
    audit.action = "token.refreshed";
    AppendAudit(tx, audit);
    return out;
  }
  // Spent. Only a retry of the immediate parent of the newest token, within the grace window,
  // gets the same child back; anything else is a stolen or replayed token.
  auto child = tx.exec_params(
      "SELECT id, tessera_us(created_at), digest, used_at IS NULL FROM refresh_tokens"
      " WHERE org_id = $1 AND parent_id = $2",
      out.org_id, token_id);
  bool replay = !child.empty() && rot.now - *used_at <= rot.grace && child[0][3].as<bool>() &&
                child[0][2].as<std::string>() == rot.child_digest;
  if (replay) {
    out.child_id = child[0][0].as<std::string>();
    out.child_created_at = FromUs(child[0][1].as<int64_t>());
    out.outcome = RefreshOutcome::kGraceReplay;
    return out;
  }
  tx.exec_params(
      "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
      " WHERE org_id = $1 AND family_id = $2 AND revoked_at IS NULL",
      out.org_id, out.family_id, Us(rot.now));
  Notify(tx, changes,
         Change{.kind = ChangeKind::kFamily,
                .org_id = out.org_id,
                .id = out.family_id,
                .expires_at = family_expires_at});
  out.outcome = RefreshOutcome::kReuse;
  audit.action = "refresh.reuse_detected";
  AppendAudit(tx, audit);
  return out;
}

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

class PgRevocationStore final : public RevocationStore {
 public:
  PgRevocationStore(PgPool& pool, ChangeSink* local) : pool_(pool), writer_(pool, local) {}

  absl::Status RevokeAccessToken(absl::string_view org_id, absl::string_view jti,
                                 absl::Time expires_at, absl::Time now, AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) {
      auto r = tx.exec_params(
          "INSERT INTO revoked_access_tokens (org_id, jti, expires_at, revoked_at)"
          " VALUES ($1, $2, tessera_ts($3), tessera_ts($4)) ON CONFLICT DO NOTHING",
          std::string(org_id), std::string(jti), Us(expires_at), Us(now));
      if (r.affected_rows() == 0) return absl::OkStatus();
      Notify(tx, changes,
             Change{.kind = ChangeKind::kAccessToken,
                    .org_id = std::string(org_id),
                    .id = std::string(jti),
                    .expires_at = expires_at});
      audit.org_id = std::string(org_id);
      audit.action = "token.revoked";
      AppendAuditOn(tx, audit, "access_token", std::string(jti));
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::optional<RefreshTokenOwner>> FindRefreshToken(
      absl::string_view digest) override {
    return pool_.TransactValue<std::optional<RefreshTokenOwner>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<RefreshTokenOwner>> {
          auto r = tx.exec_params(
              "SELECT org_id, account_id, family_id FROM refresh_tokens WHERE digest = $1",
              std::string(digest));
          if (r.empty()) return std::optional<RefreshTokenOwner>();
          return RefreshTokenOwner{.org_id = r[0][0].as<std::string>(),
                                   .account_id = r[0][1].as<std::string>(),
                                   .family_id = r[0][2].as<std::string>()};
        });
  }

  absl::Status RevokeFamily(absl::string_view org_id, absl::string_view family_id, absl::Time now,
                            AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) {
      // The family's account's session lock first, so that the update below also sees the
      // child a rotation in flight is inserting (see LockAccountSessions).
      auto owner = tx.exec_params(
          "SELECT account_id FROM refresh_tokens WHERE org_id = $1 AND family_id = $2 LIMIT 1",
          std::string(org_id), std::string(family_id));
      if (owner.empty()) return absl::OkStatus();
      LockAccountSessions(tx, org_id, owner[0][0].as<std::string>());
      auto r = tx.exec_params(
          "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
          " WHERE org_id = $1 AND family_id = $2 AND revoked_at IS NULL"
          " RETURNING tessera_us(family_expires_at)",
          std::string(org_id), std::string(family_id), Us(now));
      if (r.empty()) return absl::OkStatus();
      Notify(tx, changes,
             Change{.kind = ChangeKind::kFamily,
                    .org_id = std::string(org_id),
                    .id = std::string(family_id),
                    .expires_at = FromUs(r[0][0].as<int64_t>())});
      audit.org_id = std::string(org_id);
      audit.action = "token_family.revoked";
      AppendAuditOn(tx, audit, "token_family", std::string(family_id));
      return absl::OkStatus();
    });
  }

  absl::Status RevokeAccount(absl::string_view org_id, absl::string_view account_id, absl::Time now,
                             AuditEntry audit) override {
    return writer_.Status([&](Tx& tx, Changes& changes) {
      // The session lock first: rotations and logins in flight commit before the update below,
      // which then sees every token they made (see LockAccountSessions).
      auto sessions = LockAccountSessions(tx, org_id, account_id);
      if (!sessions) return absl::NotFoundError("account_id: account not found");
      auto revoked = tx.exec_params(
          "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
          " WHERE org_id = $1 AND account_id = $2 AND revoked_at IS NULL"
          " RETURNING tessera_us(created_at)",
          std::string(org_id), std::string(account_id), Us(now));
      // The cutoff covers every access token issued so far, including one minted by a rotation
      // whose clock read a little later than ours: never before the newest session it revokes.
      absl::Time cutoff = now;
      if (sessions->tokens_valid_after) cutoff = std::max(cutoff, *sessions->tokens_valid_after);
      for (const auto& row : revoked) cutoff = std::max(cutoff, FromUs(row[0].as<int64_t>()));
      tx.exec_params(
          "UPDATE accounts SET tokens_valid_after = tessera_ts($3), updated_at = tessera_ts($4)"
          " WHERE org_id = $1 AND id = $2",
          std::string(org_id), std::string(account_id), Us(cutoff), Us(now));
      // The account's cutoff covers every family's access tokens, so one change says it all.
      NotifyAccount(tx, changes, org_id, account_id);
      audit.org_id = std::string(org_id);
      audit.action = "account.sessions_revoked";
      AppendAuditOn(tx, audit, "account", std::string(account_id));
      return absl::OkStatus();
    });
  }

 private:
  PgPool& pool_;
  Writer writer_;
};

// An account's permissions: org_id, id, username, disabled, platform, tokens_valid_after, scopes.
constexpr char kPermissionsSelect[] =
    "SELECT a.org_id, a.id, a.username, a.disabled, o.platform, tessera_us(a.tokens_valid_after),"
    " o.id, o.slug, o.name, o.platform, tessera_us(o.created_at), ";

AccountPermissions ReadPermissions(const pqxx::row& row) {
  AccountPermissions p;
  p.org_id = row[0].as<std::string>();
  p.account_id = row[1].as<std::string>();
  p.username = row[2].as<std::string>();
  p.disabled = row[3].as<bool>();
  p.org_platform = row[4].as<bool>();
  p.tokens_valid_after = OptionalTime(row[5]);
  p.org = ReadOrg(row, 6);
  p.account = ReadAccount(row, 11);
  p.scopes = SplitScopes(row[19].as<std::string>());
  return p;
}

class PgSnapshotStore final : public SnapshotStore {
 public:
  explicit PgSnapshotStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<SnapshotData> LoadAll(absl::Time now, absl::Duration family_tail) override {
    return pool_.TransactValue<SnapshotData>([&](Tx& tx) -> absl::StatusOr<SnapshotData> {
      SnapshotData out;
      auto accounts =
          tx.exec(absl::StrCat(kPermissionsSelect, kAccountColumns, ", ", kAccountScopes,
                               " FROM accounts a JOIN organizations o"
                               " ON o.id = a.org_id"));
      out.accounts.reserve(accounts.size());
      for (const auto& row : accounts) out.accounts.push_back(ReadPermissions(row));
      auto jtis = tx.exec_params(
          "SELECT org_id, jti, tessera_us(expires_at) FROM revoked_access_tokens"
          " WHERE expires_at > tessera_ts($1)",
          Us(now));
      for (const auto& row : jtis) out.access_tokens.push_back(ReadRevoked(row));
      // A family counts as revoked once its tokens are: every way to revoke one revokes all.
      auto families = tx.exec_params(
          "SELECT org_id, family_id, tessera_us(max(family_expires_at)) FROM refresh_tokens"
          " WHERE revoked_at IS NOT NULL GROUP BY org_id, family_id"
          " HAVING max(family_expires_at) > tessera_ts($1)",
          Us(now - family_tail));
      for (const auto& row : families) out.families.push_back(ReadRevoked(row));
      out.api_keys = LoadLiveApiKeysTx(tx, now);
      return out;
    });
  }

  absl::StatusOr<std::optional<ApiKeyCredential>> LoadApiKey(absl::string_view org_id,
                                                             absl::string_view id,
                                                             absl::Time now) override {
    return pool_.TransactValue<std::optional<ApiKeyCredential>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<ApiKeyCredential>> {
          return LoadLiveApiKeyTx(tx, org_id, id, now);
        });
  }

  absl::StatusOr<std::optional<AccountPermissions>> LoadAccount(
      absl::string_view org_id, absl::string_view account_id) override {
    return pool_.TransactValue<std::optional<AccountPermissions>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<AccountPermissions>> {
          auto r =
              tx.exec_params(absl::StrCat(kPermissionsSelect, kAccountColumns, ", ", kAccountScopes,
                                          " FROM accounts a JOIN organizations o"
                                          " ON o.id = a.org_id"
                                          " WHERE a.org_id = $1 AND a.id = $2"),
                             std::string(org_id), std::string(account_id));
          if (r.empty()) return std::optional<AccountPermissions>();
          return std::optional<AccountPermissions>(ReadPermissions(r[0]));
        });
  }

 private:
  static RevokedEntry ReadRevoked(const pqxx::row& row) {
    return RevokedEntry{.org_id = row[0].as<std::string>(),
                        .id = row[1].as<std::string>(),
                        .expires_at = FromUs(row[2].as<int64_t>())};
  }

  PgPool& pool_;
};

}  // namespace

Stores MakePgStores(PgPool& pool, ChangeSink* local) {
  Stores s;
  s.orgs = std::make_unique<PgOrganizationStore>(pool, local);
  s.accounts = std::make_unique<PgAccountStore>(pool, local);
  s.roles = std::make_unique<PgRoleStore>(pool);
  s.signing_keys = std::make_unique<PgSigningKeyStore>(pool, local);
  s.refresh_tokens = std::make_unique<PgRefreshTokenStore>(pool, local);
  s.audit = std::make_unique<PgAuditStore>(pool);
  s.revocations = std::make_unique<PgRevocationStore>(pool, local);
  s.api_keys = MakePgApiKeyStore(pool, local);
  s.throttle = MakePgThrottleStore(pool, local);
  return s;
}

std::unique_ptr<SnapshotStore> MakePgSnapshotStore(PgPool& pool) {
  return std::make_unique<PgSnapshotStore>(pool);
}

}  // namespace tessera
